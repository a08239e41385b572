//! The seat itself: `GET /accounts/{id}`, read while a seat is not connected
//! to learn when it may act again (Unipile's status webhook leaves `OK` out by
//! default, so polling this is the dependable way back).

use super::UnipileLinkedIn;
use super::errors::Ctx;
use crate::error::{LinkedInError, LinkedInResult};
use crate::types::SeatHealth;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AccountWire {
    pub sources: Vec<SourceWire>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SourceWire {
    pub status: String,
}

impl UnipileLinkedIn {
    /// `GET /accounts/{account_id}`: the first source's status.
    pub(crate) async fn get_seat_health(&self) -> LinkedInResult<SeatHealth> {
        let account_id = self.http.account_id.clone();
        match self.http.get::<AccountWire>(&["accounts", &account_id], vec![], Ctx::Seat).await {
            Ok(wire) => Ok(seat_health(&wire)),
            Err(LinkedInError::NotFound(what)) => Ok(SeatHealth::Gone(what)),
            Err(e) => Err(e),
        }
    }
}

/// Reads `sources[].status` (OpenAPI `AccountSourceServiceStatus`): every source
/// must be `OK` for the seat to act; the worst one wins.
pub(crate) fn seat_health(wire: &AccountWire) -> SeatHealth {
    let mut health = SeatHealth::Ok;
    for source in &wire.sources {
        let this = match source.status.trim().to_ascii_uppercase().as_str() {
            "OK" => SeatHealth::Ok,
            "CONNECTING" | "SYNC_SUCCESS" | "CREATION_SUCCESS" | "RECONNECTED" => SeatHealth::Connecting,
            "CREDENTIALS" | "PERMISSIONS" | "CHECKPOINT" => SeatHealth::NeedsAction(source.status.clone()),
            "DELETED" => SeatHealth::Gone(source.status.clone()),
            other => SeatHealth::Disconnected(if other.is_empty() { "no status".into() } else { other.to_owned() }),
        };
        health = worse(health, this);
    }
    if wire.sources.is_empty() {
        return SeatHealth::Connecting;
    }
    health
}

fn rank(h: &SeatHealth) -> u8 {
    match h {
        SeatHealth::Ok => 0,
        SeatHealth::Connecting => 1,
        SeatHealth::Disconnected(_) => 2,
        SeatHealth::NeedsAction(_) => 3,
        SeatHealth::Gone(_) => 4,
    }
}

fn worse(a: SeatHealth, b: SeatHealth) -> SeatHealth {
    if rank(&b) > rank(&a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(statuses: &[&str]) -> AccountWire {
        AccountWire { sources: statuses.iter().map(|s| SourceWire { status: (*s).to_owned() }).collect() }
    }

    #[test]
    fn every_source_must_be_ok_and_the_worst_status_wins() {
        assert_eq!(seat_health(&wire(&["OK"])), SeatHealth::Ok);
        assert_eq!(seat_health(&wire(&["OK", "CREDENTIALS"])), SeatHealth::NeedsAction("CREDENTIALS".into()));
        assert_eq!(seat_health(&wire(&["ERROR"])), SeatHealth::Disconnected("ERROR".into()));
        assert_eq!(seat_health(&wire(&["STOPPED", "OK"])), SeatHealth::Disconnected("STOPPED".into()));
        assert_eq!(seat_health(&wire(&["CONNECTING"])), SeatHealth::Connecting);
        assert_eq!(seat_health(&wire(&[])), SeatHealth::Connecting);
    }
}
