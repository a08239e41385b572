-- Connecting, reconnecting and unblocking LinkedIn seats through the API needs the new
-- `linkedin-accounts:write` scope. Keys that held every scope keep holding every scope.
UPDATE api_keys SET scopes = scopes || ',linkedin-accounts:write'
WHERE scopes = 'audiences:read,audiences:write,prospects:read,prospecting:read,prospecting:write,messages:read,messages:write,campaigns:read,campaigns:write,campaigns:execute,signals:read,signals:write,templates:read,templates:write,events:read,webhooks:read,webhooks:write';
