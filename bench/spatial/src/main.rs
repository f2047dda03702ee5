//! Spatial benchmark: `CameraIndex` against a brute-force linear scan and
//! against PostGIS, on a synthetic city of cameras.
//!
//! Four query kinds, the same query points for every engine:
//! - radius:  cameras within 300 m (`CameraIndex::within_radius`)
//! - nearest: the 5 nearest cameras (`CameraIndex::nearest`)
//! - polygon: cameras inside a 1 km² lon/lat square (`CameraIndex::in_area`)
//! - sees:    cameras whose field of view contains the point (`CameraIndex::seeing`)
//!
//! Per-query latency (p50, p99) is printed for each engine, with the ratios
//! to the index, the index's memory per camera and build time, and the
//! number of queries on which the engines disagree about the set of ids.
//!
//! Run `citywatch-bench-spatial --help` for the flags. Without a reachable
//! PostgreSQL (or without PostGIS) the PostGIS column is skipped with a
//! message and the rest still runs.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use citywatch_geo::ellipsoid::{self, WGS84_A, WGS84_F};
use citywatch_geo::{sector_contains, Area, CameraGeometry, CameraIndex, Polygon};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CENTER_LAT: f64 = 44.8125;
const CENTER_LON: f64 = 20.4612;
const CITY_SIDE_M: f64 = 40_000.0;
const RADIUS_M: f64 = 300.0;
const K: usize = 5;
const SQUARE_SIDE_M: f64 = 1_000.0;
const TABLE: &str = "citywatch_bench_cameras";
const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5";

const GOAL_P50_US: f64 = 20.0;
const GOAL_POSTGIS_RATIO: f64 = 20.0;
const GOAL_BYTES_PER_CAMERA: f64 = 200.0;

// ---------------------------------------------------------------- arguments

struct Args {
    cameras: usize,
    queries: usize,
    warmup: usize,
    seed: u64,
    pg: Option<String>,
    examples: usize,
    keep_table: bool,
    pure_brute: bool,
}

const USAGE: &str = "\
citywatch-bench-spatial: CameraIndex vs brute force vs PostGIS

  --cameras N    cameras in the synthetic city (default 100000)
  --queries Q    timed queries per kind and engine (default 2000)
  --warmup W     untimed queries run first per kind and engine (default 50)
  --seed S       RNG seed for cameras and queries (default 42)
  --pg CONN      PostgreSQL connection string
                 (default \"host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5\")
  --no-pg        skip PostGIS
  --pure-brute   brute force without its lower-bound skip: every camera goes
                 through distance_m/within/sector_contains (slow: ~0.1 s a query
                 at 100,000 cameras; use with a small --queries)
  --keep-table   leave the PostGIS table citywatch_bench_cameras in place (for EXPLAIN)
  --examples E   disagreements printed per kind and comparison (default 3)
  -h, --help     this text";

fn parse_args() -> Result<Args, String> {
    let mut a =
        Args { cameras: 100_000, queries: 2_000, warmup: 50, seed: 42, pg: Some(DEFAULT_PG.to_owned()), examples: 3, keep_table: false, pure_brute: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse().map_err(|_| format!("{name}: cannot parse {v:?}"))
        }
        match flag.as_str() {
            "--cameras" => a.cameras = num("--cameras", value("--cameras")?)?,
            "--queries" => a.queries = num("--queries", value("--queries")?)?,
            "--warmup" => a.warmup = num("--warmup", value("--warmup")?)?,
            "--seed" => a.seed = num("--seed", value("--seed")?)?,
            "--examples" => a.examples = num("--examples", value("--examples")?)?,
            "--pg" => a.pg = Some(value("--pg")?),
            "--no-pg" => a.pg = None,
            "--keep-table" => a.keep_table = true,
            "--pure-brute" => a.pure_brute = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    if a.cameras == 0 || a.queries == 0 {
        return Err("--cameras and --queries must be at least 1".into());
    }
    Ok(a)
}

// ---------------------------------------------------------------- the city

/// Metres per degree of latitude and of longitude at `lat` (WGS84 radii of curvature).
fn metres_per_degree(lat: f64) -> (f64, f64) {
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let s = lat.to_radians().sin();
    let w2 = 1.0 - e2 * s * s;
    let n = WGS84_A / w2.sqrt();
    let m = WGS84_A * (1.0 - e2) / (w2 * w2.sqrt());
    (m.to_radians(), (n * lat.to_radians().cos()).to_radians())
}

struct City {
    lat_min: f64,
    lat_max: f64,
    lon_min: f64,
    lon_max: f64,
}

impl City {
    fn around_center() -> City {
        let (m_lat, m_lon) = metres_per_degree(CENTER_LAT);
        let (dlat, dlon) = (CITY_SIDE_M / 2.0 / m_lat, CITY_SIDE_M / 2.0 / m_lon);
        City { lat_min: CENTER_LAT - dlat, lat_max: CENTER_LAT + dlat, lon_min: CENTER_LON - dlon, lon_max: CENTER_LON + dlon }
    }

    fn random_point(&self, rng: &mut StdRng) -> (f64, f64) {
        (rng.gen_range(self.lat_min..self.lat_max), rng.gen_range(self.lon_min..self.lon_max))
    }
}

fn generate_cameras(n: usize, city: &City, rng: &mut StdRng) -> Vec<CameraGeometry> {
    (0..n)
        .map(|i| {
            let (lat, lon) = city.random_point(rng);
            let heading_deg = rng.gen_range(0.0..360.0);
            let fov_deg = if rng.gen_bool(0.1) { 360.0 } else { rng.gen_range(30.0..=120.0) };
            let range_m = rng.gen_range(20.0..=150.0);
            CameraGeometry { id: format!("cam-{i:06}"), lat, lon, heading_deg, fov_deg, range_m }
        })
        .collect()
}

/// A 1 km × 1 km square, axis-aligned in lon/lat, as GeoJSON text (for
/// PostGIS) and as the `Area` that `Area::from_geojson` makes of that text.
struct Square {
    west: f64,
    south: f64,
    east: f64,
    north: f64,
    geojson: String,
    area: Area,
}

fn random_square(city: &City, rng: &mut StdRng) -> Square {
    let (m_lat, _) = metres_per_degree(CENTER_LAT);
    let half_lat = SQUARE_SIDE_M / 2.0 / m_lat;
    let clat = rng.gen_range(city.lat_min + half_lat..city.lat_max - half_lat);
    let (m_lat, m_lon) = metres_per_degree(clat);
    let (half_lat, half_lon) = (SQUARE_SIDE_M / 2.0 / m_lat, SQUARE_SIDE_M / 2.0 / m_lon);
    let clon = rng.gen_range(city.lon_min + half_lon..city.lon_max - half_lon);
    let (west, east, south, north) = (clon - half_lon, clon + half_lon, clat - half_lat, clat + half_lat);
    let ring = vec![[west, south], [east, south], [east, north], [west, north], [west, south]];
    // `{}` prints the shortest text that reads back to the same f64, so PostGIS
    // parses exactly these coordinates.
    let coords: Vec<String> = ring.iter().map(|p| format!("[{},{}]", p[0], p[1])).collect();
    let geojson = format!(r#"{{"type":"Polygon","coordinates":[[{}]]}}"#, coords.join(","));
    // The same structure `Area::from_geojson` returns for this Polygon (built
    // directly so the bench needs no JSON parser of its own).
    let area = Area { polygons: vec![Polygon { rings: vec![ring] }] };
    Square { west, south, east, north, geojson, area }
}

// ---------------------------------------------------------------- brute force

/// One degree of latitude is at least this long anywhere on WGS84 (the
/// meridional radius of curvature is smallest at the equator: a(1-e²)·π/180
/// = 110 574.27 m).
const MIN_M_PER_DEG_LAT: f64 = 110_574.0;
/// Rounding allowance for the bounds below (and for `distance_m`'s fast value,
/// which is within a millimetre of the geodesic).
const BOUND_SLACK_M: f64 = 0.01;

/// A linear scan over every camera. Each camera is first tested against a
/// cheap lower bound on its geodesic distance from the query, built from
/// first principles and not from anything in the index: a path of length L
/// changes latitude by at most L / 110 574 degrees, so it stays below
/// latitude |lat| + L/110 574 and its east-west part costs at least
/// a·cos(that latitude) per radian of longitude. Cameras the bound puts
/// clearly beyond the limit are skipped; every other camera is decided by
/// `ellipsoid::within` / `ellipsoid::distance_m` / `sector_contains` /
/// `Area::contains`, exactly as the crate defines the answers. (Without the
/// bound, nearly every camera would fall to Karney's algorithm, about a
/// microsecond each, making a brute-force query ~0.1 s at 100,000 cameras;
/// `--pure-brute` does exactly that, to check the bound changes nothing.)
struct Brute<'a> {
    cams: &'a [CameraGeometry],
    max_range_m: f64,
    /// Skip cameras by the lower bound (off with --pure-brute).
    prefilter: bool,
}

/// Metres per radian of longitude that a path of length ≤ `limit_m` from
/// latitude `lat` costs at least.
fn lon_floor_m_per_rad(lat: f64, limit_m: f64) -> f64 {
    let lat_reach = (lat.abs() + limit_m / MIN_M_PER_DEG_LAT).min(90.0);
    (WGS84_A * lat_reach.to_radians().cos()).max(0.0)
}

/// False only if the geodesic between the points is certainly longer than `limit_m`.
#[inline]
fn may_be_within(prefilter: bool, lat: f64, lon: f64, c: &CameraGeometry, limit_m: f64, lon_floor: f64) -> bool {
    if !prefilter {
        return true;
    }
    if (c.lat - lat).abs() * MIN_M_PER_DEG_LAT > limit_m + BOUND_SLACK_M {
        return false;
    }
    let mut dlon = (c.lon - lon).abs();
    if dlon > 180.0 {
        dlon = 360.0 - dlon;
    }
    dlon.to_radians() * lon_floor <= limit_m + BOUND_SLACK_M
}

impl<'a> Brute<'a> {
    fn within_radius(&self, lat: f64, lon: f64, radius_m: f64) -> Vec<&'a str> {
        let lon_floor = lon_floor_m_per_rad(lat, radius_m);
        let mut out = Vec::new();
        for c in self.cams {
            if may_be_within(self.prefilter, lat, lon, c, radius_m, lon_floor) && ellipsoid::within(lat, lon, c.lat, c.lon, radius_m).0 {
                out.push(c.id.as_str());
            }
        }
        out
    }

    /// The k nearest by (distance_m, id), the order the index uses.
    fn nearest(&self, lat: f64, lon: f64, k: usize) -> Vec<&'a str> {
        let mut best: Vec<(f64, &'a str)> = Vec::with_capacity(k + 1);
        let (mut limit, mut lon_floor) = (f64::INFINITY, 0.0);
        for c in self.cams {
            if best.len() == k && !may_be_within(self.prefilter, lat, lon, c, limit, lon_floor) {
                continue;
            }
            let d = ellipsoid::distance_m(lat, lon, c.lat, c.lon);
            let key = (d, c.id.as_str());
            let at = best.partition_point(|h| h.0.total_cmp(&key.0).then_with(|| h.1.cmp(key.1)).is_lt());
            if at < k {
                best.insert(at, key);
                best.truncate(k);
                if best.len() == k {
                    limit = best[k - 1].0;
                    lon_floor = lon_floor_m_per_rad(lat, limit);
                }
            }
        }
        best.into_iter().map(|h| h.1).collect()
    }

    fn in_area(&self, area: &Area) -> Vec<&'a str> {
        self.cams.iter().filter(|c| area.contains(c.lon, c.lat)).map(|c| c.id.as_str()).collect()
    }

    fn seeing(&self, lat: f64, lon: f64) -> Vec<&'a str> {
        let lon_floor = lon_floor_m_per_rad(lat, self.max_range_m);
        let mut out = Vec::new();
        for c in self.cams {
            if may_be_within(self.prefilter, lat, lon, c, c.range_m, lon_floor)
                && sector_contains(c.lat, c.lon, c.heading_deg, c.fov_deg, c.range_m, lat, lon).is_some()
            {
                out.push(c.id.as_str());
            }
        }
        out
    }
}

// ---------------------------------------------------------------- PostGIS

struct Pg {
    client: postgres::Client,
    version: String,
    load_s: f64,
    index_s: f64,
    radius: postgres::Statement,
    nearest: postgres::Statement,
    polygon: postgres::Statement,
    sees: postgres::Statement,
}

const SEES_METHOD: &str = "ST_DWithin(geog, p, max range) AND ST_DWithin(geog, p, range_m) AND |ST_Azimuth(geog, p) - heading| <= fov/2 \
(fov >= 360 or same point: seen); no precomputed sector polygons";

fn pg_setup(conn: &str, cams: &[CameraGeometry]) -> Result<Pg, String> {
    let mut client = postgres::Client::connect(conn, postgres::NoTls).map_err(|e| format!("cannot connect to PostgreSQL ({conn}): {}", pg_err(&e)))?;
    client.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis").map_err(|e| {
        format!("PostGIS is not available ({}); install it with `apt-get install -y postgresql-15-postgis-3` (bench/spatial.sh does)", pg_err(&e))
    })?;
    let version: String =
        client.query_one("SELECT split_part(version(), ' on ', 1) || ', PostGIS ' || postgis_lib_version()", &[]).map_err(|e| pg_err(&e))?.get(0);
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {TABLE};
             CREATE TABLE {TABLE} (id text NOT NULL, geog geography(Point, 4326) NOT NULL,
                                   heading float8 NOT NULL, fov float8 NOT NULL, range_m float8 NOT NULL);"
        ))
        .map_err(|e| format!("creating {TABLE}: {}", pg_err(&e)))?;
    let t = Instant::now();
    {
        let mut w =
            client.copy_in(&format!("COPY {TABLE} (id, geog, heading, fov, range_m) FROM STDIN")).map_err(|e| format!("COPY into {TABLE}: {}", pg_err(&e)))?;
        let mut buf = String::with_capacity(1 << 20);
        for (i, c) in cams.iter().enumerate() {
            // Shortest round-trip f64 text: PostGIS reads back the same coordinates.
            let _ = writeln!(buf, "{}\tSRID=4326;POINT({} {})\t{}\t{}\t{}", c.id, c.lon, c.lat, c.heading_deg, c.fov_deg, c.range_m);
            if buf.len() > (1 << 20) - 256 || i + 1 == cams.len() {
                w.write_all(buf.as_bytes()).map_err(|e| format!("COPY into {TABLE}: {e}"))?;
                buf.clear();
            }
        }
        w.finish().map_err(|e| format!("COPY into {TABLE}: {}", pg_err(&e)))?;
    }
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    client.batch_execute(&format!("CREATE INDEX {TABLE}_geog ON {TABLE} USING gist (geog)")).map_err(|e| format!("indexing {TABLE}: {}", pg_err(&e)))?;
    // VACUUM may not share a batch (an implicit transaction) with other statements.
    client.batch_execute(&format!("VACUUM ANALYZE {TABLE}")).map_err(|e| format!("VACUUM ANALYZE {TABLE}: {}", pg_err(&e)))?;
    let index_s = t.elapsed().as_secs_f64();

    let point = "ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)::geography";
    let prep = |client: &mut postgres::Client, sql: &str| client.prepare(sql).map_err(|e| format!("preparing {sql}: {}", pg_err(&e)));
    let radius = prep(&mut client, &format!("SELECT id FROM {TABLE} WHERE ST_DWithin(geog, {point}, $3::float8)"))?;
    let nearest = prep(&mut client, &format!("SELECT id FROM {TABLE} ORDER BY geog <-> {point} LIMIT $3::int8"))?;
    let polygon = prep(&mut client, &format!("SELECT id FROM {TABLE} WHERE ST_Intersects(geog, ST_GeomFromGeoJSON($1::text)::geography)"))?;
    let sees = prep(
        &mut client,
        &format!(
            "SELECT c.id FROM {TABLE} c, (SELECT {point} AS p) q
             WHERE ST_DWithin(c.geog, q.p, $3::float8)
               AND ST_DWithin(c.geog, q.p, c.range_m)
               AND (c.fov >= 360 OR COALESCE(
                     abs((degrees(ST_Azimuth(c.geog, q.p)) - c.heading)
                         - 360 * round((degrees(ST_Azimuth(c.geog, q.p)) - c.heading) / 360)) <= c.fov / 2,
                     true))"
        ),
    )?;
    Ok(Pg { client, version, load_s, index_s, radius, nearest, polygon, sees })
}

/// The server's message too: `postgres::Error`'s Display alone says only "db error".
fn pg_err(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{e}: {} {}", db.severity(), db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

fn pg_ids(rows: Vec<postgres::Row>) -> Vec<String> {
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}

// ---------------------------------------------------------------- measuring

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Radius,
    Nearest,
    Polygon,
    Sees,
}

const KINDS: [Kind; 4] = [Kind::Radius, Kind::Nearest, Kind::Polygon, Kind::Sees];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Radius => "radius 300 m",
            Kind::Nearest => "nearest k=5",
            Kind::Polygon => "polygon 1 km²",
            Kind::Sees => "sees",
        }
    }
}

struct Run {
    /// Per-query latency in nanoseconds, sorted.
    nanos: Vec<u64>,
    /// Per-query answer as a set of ids.
    ids: Vec<BTreeSet<String>>,
}

impl Run {
    fn pct_us(&self, p: f64) -> f64 {
        let n = self.nanos.len();
        let rank = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n);
        self.nanos[rank - 1] as f64 / 1000.0
    }
    fn mean_hits(&self) -> f64 {
        self.ids.iter().map(BTreeSet::len).sum::<usize>() as f64 / self.ids.len() as f64
    }
}

/// Runs `warmup` untimed queries, then every query once; `q` times itself
/// and returns the latency and the ids.
fn measure<E>(n: usize, warmup: usize, mut q: impl FnMut(usize) -> Result<(Duration, Vec<String>), E>) -> Result<Run, E> {
    for i in 0..warmup.min(n) {
        q(i)?;
    }
    let mut nanos = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let (dt, got) = q(i)?;
        nanos.push(dt.as_nanos() as u64);
        ids.push(got.into_iter().collect());
    }
    nanos.sort_unstable();
    Ok(Run { nanos, ids })
}

fn owned(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(str::to_owned).collect()
}

// ---------------------------------------------------------------- comparing

struct Diff {
    queries: usize,
    only_a: usize,
    only_b: usize,
    examples: Vec<(usize, Vec<String>, Vec<String>)>,
}

fn compare(a: &Run, b: &Run, keep: usize) -> Diff {
    let mut d = Diff { queries: 0, only_a: 0, only_b: 0, examples: Vec::new() };
    for (i, (x, y)) in a.ids.iter().zip(&b.ids).enumerate() {
        if x != y {
            let oa: Vec<String> = x.difference(y).cloned().collect();
            let ob: Vec<String> = y.difference(x).cloned().collect();
            d.queries += 1;
            d.only_a += oa.len();
            d.only_b += ob.len();
            if d.examples.len() < keep {
                d.examples.push((i, oa, ob));
            }
        }
    }
    d
}

/// Why a camera is near the edge of a query's answer, in numbers.
fn explain(kind: Kind, cam: &CameraGeometry, point: (f64, f64), sq: &Square, fifth_m: Option<f64>) -> String {
    let (lat, lon) = point;
    match kind {
        Kind::Radius => {
            let d = ellipsoid::distance_exact(lat, lon, cam.lat, cam.lon);
            format!("{} at ({}, {}): geodesic {:.6} m (limit {RADIUS_M} m, off by {:+.3e} m)", cam.id, cam.lat, cam.lon, d, d - RADIUS_M)
        }
        Kind::Nearest => {
            let d = ellipsoid::distance_m(lat, lon, cam.lat, cam.lon);
            let fifth = fifth_m.map(|f| format!("; index's 5th-nearest is at {f:.6} m")).unwrap_or_default();
            format!("{} at ({}, {}): distance_m {:.6} m{fifth}", cam.id, cam.lat, cam.lon, d)
        }
        Kind::Polygon => {
            let (m_lat, m_lon) = metres_per_degree(cam.lat);
            let edge = [(cam.lon - sq.west) * m_lon, (sq.east - cam.lon) * m_lon, (cam.lat - sq.south) * m_lat, (sq.north - cam.lat) * m_lat];
            let nearest_edge = edge.iter().cloned().fold(f64::INFINITY, |a, b| if b.abs() < a.abs() { b } else { a });
            format!(
                "{} at ({}, {}): {:.4} m from the nearest edge (inside if positive), Area::contains = {}",
                cam.id,
                cam.lat,
                cam.lon,
                nearest_edge,
                sq.area.contains(cam.lon, cam.lat)
            )
        }
        Kind::Sees => {
            let (d, az) = ellipsoid::distance_azimuth_exact(cam.lat, cam.lon, lat, lon);
            let off = ellipsoid::bearing_difference(az, cam.heading_deg);
            format!(
                "{} at ({}, {}) heading {:.4}° fov {:.4}° range {:.4} m: geodesic {:.6} m ({:+.3e} m vs range), off-axis {:.6}° ({:+.3e}° vs fov/2)",
                cam.id,
                cam.lat,
                cam.lon,
                cam.heading_deg,
                cam.fov_deg,
                cam.range_m,
                d,
                d - cam.range_m,
                off,
                off - cam.fov_deg / 2.0
            )
        }
    }
}

// ---------------------------------------------------------------- main

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let city = City::around_center();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let cams = generate_cameras(args.cameras, &city, &mut rng);
    let mut qrng = StdRng::seed_from_u64(args.seed ^ 0x5eed_f9e0_u64);
    let points: Vec<(f64, f64)> = (0..args.queries).map(|_| city.random_point(&mut qrng)).collect();
    let squares: Vec<Square> = (0..args.queries).map(|_| random_square(&city, &mut qrng)).collect();
    let by_id: HashMap<&str, &CameraGeometry> = cams.iter().map(|c| (c.id.as_str(), c)).collect();

    println!("Citywatch spatial benchmark");
    println!(
        "  {} cameras, random over a {} x {} km square centred on {} N, {} E (seed {}); fov 30-120 deg (10% 360 deg), range 20-150 m",
        args.cameras,
        CITY_SIDE_M / 1000.0,
        CITY_SIDE_M / 1000.0,
        CENTER_LAT,
        CENTER_LON,
        args.seed
    );
    println!("  {} timed queries per kind and engine (same points for every engine), {} untimed warm-up queries first", args.queries, args.warmup);

    // Build: best of three (the first pays for page faults).
    let mut build_times = Vec::new();
    let mut index = None;
    for _ in 0..3 {
        let input = cams.clone();
        let t = Instant::now();
        let built = CameraIndex::build(input);
        build_times.push(t.elapsed());
        index = Some(built);
    }
    let index = index.unwrap();
    let build_ms = build_times.iter().min().unwrap().as_secs_f64() * 1e3;
    let bytes_per_camera = index.heap_bytes() as f64 / index.len() as f64;
    println!(
        "  index build: {:.2} ms (best of 3; runs: {}); heap {} bytes = {:.1} bytes/camera",
        build_ms,
        build_times.iter().map(|d| format!("{:.2}", d.as_secs_f64() * 1e3)).collect::<Vec<_>>().join(", "),
        index.heap_bytes(),
        bytes_per_camera
    );

    let brute = Brute { cams: &cams, max_range_m: cams.iter().map(|c| c.range_m).fold(0.0, f64::max), prefilter: !args.pure_brute };
    if args.pure_brute {
        println!("  brute force: pure (--pure-brute): every camera through the geodesic predicates");
    }

    let mut pg = match &args.pg {
        None => {
            println!("  PostGIS: skipped (--no-pg)");
            None
        }
        Some(conn) => match pg_setup(conn, &cams) {
            Ok(p) => {
                println!("  PostGIS: {}; COPY of {} rows {:.2} s, GiST index + VACUUM ANALYZE {:.2} s", p.version, cams.len(), p.load_s, p.index_s);
                println!("  PostGIS sees: {SEES_METHOD}");
                Some(p)
            }
            Err(e) => {
                println!("  PostGIS: SKIPPED: {e}");
                println!("           (index vs brute force still reported; use --no-pg to skip this attempt)");
                None
            }
        },
    };
    println!();

    let n = args.queries;
    let w = args.warmup;
    let mut results: Vec<(Kind, Run, Run, Option<Run>)> = Vec::new();
    for kind in KINDS {
        eprint!("running {} ...", kind.name());
        let idx_run = match kind {
            Kind::Radius => measure::<()>(n, w, |i| {
                let (lat, lon) = points[i];
                let t = Instant::now();
                let hits = index.within_radius(lat, lon, RADIUS_M);
                let dt = t.elapsed();
                Ok((dt, hits.iter().map(|h| h.id.to_owned()).collect()))
            }),
            Kind::Nearest => measure::<()>(n, w, |i| {
                let (lat, lon) = points[i];
                let t = Instant::now();
                let hits = index.nearest(lat, lon, K, |_| true);
                let dt = t.elapsed();
                Ok((dt, hits.iter().map(|h| h.id.to_owned()).collect()))
            }),
            Kind::Polygon => measure::<()>(n, w, |i| {
                let t = Instant::now();
                let hits = index.in_area(&squares[i].area);
                let dt = t.elapsed();
                Ok((dt, hits.iter().map(|h| h.id.to_owned()).collect()))
            }),
            Kind::Sees => measure::<()>(n, w, |i| {
                let (lat, lon) = points[i];
                let t = Instant::now();
                let hits = index.seeing(lat, lon);
                let dt = t.elapsed();
                Ok((dt, hits.iter().map(|h| h.id.to_owned()).collect()))
            }),
        }
        .unwrap();
        let brute_run = measure::<()>(n, w, |i| {
            let (lat, lon) = points[i];
            let t = Instant::now();
            let ids = match kind {
                Kind::Radius => brute.within_radius(lat, lon, RADIUS_M),
                Kind::Nearest => brute.nearest(lat, lon, K),
                Kind::Polygon => brute.in_area(&squares[i].area),
                Kind::Sees => brute.seeing(lat, lon),
            };
            let dt = t.elapsed();
            Ok((dt, owned(ids)))
        })
        .unwrap();
        let pg_run = match pg.as_mut() {
            None => None,
            Some(p) => {
                let r = measure(n, w, |i| {
                    let (lat, lon) = points[i];
                    let t = Instant::now();
                    let rows = match kind {
                        Kind::Radius => p.client.query(&p.radius, &[&lon, &lat, &RADIUS_M]),
                        Kind::Nearest => p.client.query(&p.nearest, &[&lon, &lat, &(K as i64)]),
                        Kind::Polygon => p.client.query(&p.polygon, &[&squares[i].geojson]),
                        Kind::Sees => p.client.query(&p.sees, &[&lon, &lat, &brute.max_range_m]),
                    }?;
                    let dt = t.elapsed();
                    Ok::<_, postgres::Error>((dt, pg_ids(rows)))
                });
                match r {
                    Ok(r) => Some(r),
                    Err(e) => {
                        println!("  PostGIS {} query failed: {}; PostGIS skipped from here on", kind.name(), pg_err(&e));
                        pg = None;
                        None
                    }
                }
            }
        };
        eprintln!(" done");
        results.push((kind, idx_run, brute_run, pg_run));
    }

    // ------------------------------------------------------------ the table
    let have_pg = results.iter().any(|r| r.3.is_some());
    let fmt_opt = |v: Option<f64>, prec: usize| v.map(|x| format!("{x:.prec$}")).unwrap_or_else(|| "-".into());
    println!("Latency per query in microseconds (index and brute force: in-process call; PostGIS: round trip of a prepared statement on one connection).");
    println!("Ratios are brute/index and PostGIS/index at the same percentile.");
    println!();
    println!(
        "{:<14} {:>7} | {:>8} {:>8} | {:>9} {:>9} | {:>9} {:>9} | {:>14} {:>14} | {:>16} {:>16}",
        "query",
        "hits/q",
        "idx p50",
        "idx p99",
        "brute p50",
        "brute p99",
        "pgis p50",
        "pgis p99",
        "brute/idx p50",
        "brute/idx p99",
        "pgis/idx p50",
        "pgis/idx p99"
    );
    println!("{}", "-".repeat(165));
    for (kind, idx, br, pgr) in &results {
        let r = |a: f64, b: f64| format!("{:.1}x", a / b);
        println!(
            "{:<14} {:>7.1} | {:>8.2} {:>8.2} | {:>9.2} {:>9.2} | {:>9} {:>9} | {:>14} {:>14} | {:>16} {:>16}",
            kind.name(),
            idx.mean_hits(),
            idx.pct_us(50.0),
            idx.pct_us(99.0),
            br.pct_us(50.0),
            br.pct_us(99.0),
            fmt_opt(pgr.as_ref().map(|p| p.pct_us(50.0)), 2),
            fmt_opt(pgr.as_ref().map(|p| p.pct_us(99.0)), 2),
            r(br.pct_us(50.0), idx.pct_us(50.0)),
            r(br.pct_us(99.0), idx.pct_us(99.0)),
            pgr.as_ref().map(|p| r(p.pct_us(50.0), idx.pct_us(50.0))).unwrap_or_else(|| "-".into()),
            pgr.as_ref().map(|p| r(p.pct_us(99.0), idx.pct_us(99.0))).unwrap_or_else(|| "-".into()),
        );
    }
    println!();

    // ------------------------------------------------------------ goals
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!("Goals");
    for (kind, idx, _, _) in &results {
        if matches!(kind, Kind::Radius | Kind::Nearest) {
            let p50 = idx.pct_us(50.0);
            println!("  {:<14} index p50 < {GOAL_P50_US} us: {:>8.2} us   {}", kind.name(), p50, verdict(p50 < GOAL_P50_US));
        }
    }
    for (kind, idx, _, pgr) in &results {
        match pgr {
            Some(p) => {
                let ratio = p.pct_us(50.0) / idx.pct_us(50.0);
                println!(
                    "  {:<14} >= {GOAL_POSTGIS_RATIO}x faster than PostGIS (p50): {:>7.1}x   {}",
                    kind.name(),
                    ratio,
                    verdict(ratio >= GOAL_POSTGIS_RATIO)
                );
            }
            None => println!("  {:<14} >= {GOAL_POSTGIS_RATIO}x faster than PostGIS (p50): not measured (no PostGIS)", kind.name()),
        }
    }
    println!(
        "  index memory < {GOAL_BYTES_PER_CAMERA} bytes/camera: {:.1} bytes/camera   {}",
        bytes_per_camera,
        verdict(bytes_per_camera < GOAL_BYTES_PER_CAMERA)
    );
    println!("  (index build: {build_ms:.2} ms for {} cameras)", index.len());
    println!();

    // ------------------------------------------------------------ correctness
    println!("Correctness: queries whose id sets differ (ids only in the first / only in the second engine)");
    let mut total_brute_mismatch = 0;
    let mut printed_examples = Vec::new();
    for (kind, idx, br, pgr) in &results {
        let db = compare(idx, br, args.examples);
        total_brute_mismatch += db.queries;
        let mut line = format!("  {:<14} index vs brute force: {:>4} / {} ({} / {})", kind.name(), db.queries, n, db.only_a, db.only_b);
        if !db.examples.is_empty() {
            printed_examples.push((*kind, "index", "brute force", db.examples));
        }
        if let Some(p) = pgr {
            let dp = compare(idx, p, args.examples);
            let _ = write!(line, "   index vs PostGIS: {:>4} / {} ({} / {})", dp.queries, n, dp.only_a, dp.only_b);
            if !dp.examples.is_empty() {
                printed_examples.push((*kind, "index", "PostGIS", dp.examples));
            }
        } else if have_pg {
            line.push_str("   index vs PostGIS: -");
        }
        println!("{line}");
    }
    println!(
        "  index vs brute force: {} mismatching queries in all   {}",
        total_brute_mismatch,
        if total_brute_mismatch == 0 { "OK" } else { "MISMATCH: the index disagrees with the linear scan" }
    );
    if !printed_examples.is_empty() {
        println!();
        println!("Disagreements (first {} per kind and comparison; query points are (lat, lon))", args.examples);
        for (kind, a, b, examples) in printed_examples {
            for (qi, only_a, only_b) in examples {
                let point = points[qi];
                let sq = &squares[qi];
                let query = match kind {
                    Kind::Polygon => format!("square {}", sq.geojson),
                    _ => format!("point ({}, {})", point.0, point.1),
                };
                let fifth_m = (kind == Kind::Nearest).then(|| {
                    let hits = index.nearest(point.0, point.1, K, |_| true);
                    hits.last().map(|h| h.distance_m).unwrap_or(f64::NAN)
                });
                println!("  {} query #{qi}, {query}:", kind.name());
                for (side, ids) in [(a, &only_a), (b, &only_b)] {
                    for id in ids {
                        let detail = by_id.get(id.as_str()).map(|c| explain(kind, c, point, sq, fifth_m)).unwrap_or_else(|| id.clone());
                        println!("    only in {side}: {detail}");
                    }
                }
            }
        }
    }

    if let Some(mut p) = pg.filter(|_| !args.keep_table) {
        if let Err(e) = p.client.batch_execute(&format!("DROP TABLE IF EXISTS {TABLE}")) {
            eprintln!("note: could not drop {TABLE}: {}", pg_err(&e));
        }
    }
}
