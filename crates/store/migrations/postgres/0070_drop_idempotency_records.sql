-- The generic Idempotency-Key records (mounted on no route) are gone: the key lives on the
-- resource it created (scheduled responses, prospecting jobs, signal scans).
DROP TABLE idempotency_records;
