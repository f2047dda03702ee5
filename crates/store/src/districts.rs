use citywatch_model::{AuditRow, ChainHead, District};
use rusqlite::{params, Connection};

use crate::{Result, Store, StoreError};

impl Store {
    pub fn put_district(&self, d: &District) -> Result<()> {
        put_in(&self.conn(), d)
    }

    /// [`Store::put_district`] and its audit entry, in one transaction.
    pub fn put_district_audited(&self, d: &District, audit: impl FnOnce(Option<&ChainHead>) -> AuditRow) -> Result<AuditRow> {
        Ok(self.write_audited(|tx| put_in(tx, d), |(), head| audit(head))?.1)
    }

    pub fn list_districts(&self) -> Result<Vec<District>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name, geometry FROM district ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|row| {
            let (name, geometry) = row?;
            let geometry = serde_json::from_str(&geometry).map_err(|e| StoreError::Corrupt(format!("district {name} geometry: {e}")))?;
            Ok(District { name, geometry })
        })
        .collect()
    }
}

fn put_in(conn: &Connection, d: &District) -> Result<()> {
    conn.execute(
        "INSERT INTO district (name, geometry) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET geometry = excluded.geometry",
        params![d.name, d.geometry.to_string()],
    )?;
    Ok(())
}
