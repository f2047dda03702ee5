//! The recording index's conformance suite on PostgreSQL: a fresh
//! database on the machine's server for each case, dropped after it.

use std::sync::Arc;

use citywatch_store_postgres::test_database::TestDatabase;
use citywatch_store_postgres::PgStore;
use citywatch_video::recording_conformance::{Backend, Handles};

struct Fresh(TestDatabase);

impl Backend for Fresh {
    fn connect(&self) -> Handles {
        let store = Arc::new(PgStore::connect(self.0.url()).expect("connect to the test database"));
        Handles { recordings: store.clone(), audit: store }
    }
}

citywatch_video::recording_repo_conformance!(Fresh(TestDatabase::create()));

/// Nodes that start recording the same camera model at the same moment
/// ask for the same codec parameters at once, each on its own connection:
/// they must get one id. Not in the shared suite: SQLite's backend reads
/// and then inserts without a unique key, so two connections there can
/// add one set twice (one process shares one connection, so a server
/// never does).
#[test]
fn codec_parameters_asked_for_at_once_on_two_connections_get_one_id() {
    use std::sync::Barrier;

    use citywatch_model::recordings::StoredParams;
    use citywatch_model::Codec;

    const ROUNDS: u8 = 50;
    let fresh = Fresh(TestDatabase::create());
    let start = Arc::new(Barrier::new(2));
    let askers: Vec<_> = (0..2)
        .map(|_| {
            let (h, start) = (fresh.connect(), start.clone());
            std::thread::spawn(move || {
                (0..ROUNDS)
                    .map(|round| {
                        let params = StoredParams {
                            codec: Codec::H265,
                            width: 2560,
                            height: 1440,
                            rfc6381_codec: "hvc1.1.6.L150.90".into(),
                            extra_data: vec![0x01, round, 0x00, 0xff],
                            pixel_aspect_ratio: (round % 2 == 0).then_some((1, 1)),
                        };
                        start.wait();
                        h.recordings.video_params_id(&params).unwrap_or_else(|e| panic!("round {round}: {e}"))
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let ids: Vec<Vec<i64>> = askers.into_iter().map(|a| a.join().expect("an asker panicked")).collect();
    assert_eq!(ids[0], ids[1], "both connections got the same id for each set");
    let mut distinct = ids[0].clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), usize::from(ROUNDS), "and a new id for each new set");
}
