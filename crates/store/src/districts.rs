use citywatch_model::District;
use rusqlite::params;

use crate::{Result, Store, StoreError};

impl Store {
    pub fn put_district(&self, d: &District) -> Result<()> {
        self.conn().execute(
            "INSERT INTO district (name, geometry) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET geometry = excluded.geometry",
            params![d.name, d.geometry.to_string()],
        )?;
        Ok(())
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
