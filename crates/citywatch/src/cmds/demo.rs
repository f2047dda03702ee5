use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use citywatch_audit::{hash_password, Granter, PendingEntry, Record, UserRepo};
use citywatch_model::{ChainHead, Grant, GrantSpec, Role};
use citywatch_sim::{demo_city_at, SimConfig, SimServer, RECORDED_TAG};
use serde_json::json;

use crate::data_dir::{DataDir, BASEMAP_FILE, DB_FILE, ROADS_FILE};

#[derive(clap::Args)]
pub struct Args {
    /// Data directory for the demo; made and filled on first run, reused after.
    #[arg(long, default_value = "./citywatch-demo")]
    pub data: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Password for the demo accounts (admin, operator, dispatcher, auditor, officers). Without it a random one is printed.
    #[arg(long, env = "CITYWATCH_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Cameras per district (10 districts).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u16).range(1..=2000))]
    pub cameras_per_district: u16,
    /// Where the simulated cameras serve RTSP; a new demo city's camera URLs point here.
    #[arg(long, default_value = "127.0.0.1:8554")]
    pub sim_listen: SocketAddr,
    /// Don't start the simulated cameras in this process (run `citywatch sim` yourself).
    #[arg(long)]
    pub no_sim: bool,
    /// Seconds between two fixes of each simulated patrol unit; 0: no patrols.
    #[arg(long, default_value_t = 2.0, value_parser = parse_secs)]
    pub unit_fix_every_secs: f64,
    /// Seconds between two hotlist hits: with the models, a plate shown by
    /// an LPR camera is put on the `demo` hotlist for a short while this often
    /// (read from the video); without them, a hotlisted plate is "read" from
    /// the simulator's ground truth this often. 0: none. The first comes
    /// after 30 s, or this interval if shorter.
    #[arg(long, default_value_t = 180.0, value_parser = parse_secs)]
    pub hotlist_every_secs: f64,
    /// Recorded cameras whose plates are read from the video (their
    /// sub-stream is the 640×360 main stream, analysed with plate reading
    /// when the models are installed); 0: no analytics, hotlist hits from
    /// the simulator's ground truth.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=16))]
    pub lpr_cameras: u16,
    /// Pictures analysed per second on each LPR camera (plate reading runs
    /// on the CPU: about a third of a core per picture a second, measured).
    #[arg(long, default_value_t = 1.5, value_parser = parse_fps)]
    pub lpr_fps: f64,
}

fn parse_fps(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 30.0 => Ok(v),
        _ => Err(format!("{s:?} is not a rate: above 0, at most 30 pictures a second")),
    }
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v == 0.0 || (0.05..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds: 0 (off) or 0.05 to 86400")),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let fresh = !args.data.join(DB_FILE).exists();
    if let (true, Some(p)) = (fresh, &args.admin_password) {
        // Before anything is made: a half-made city would not be made again.
        citywatch_audit::check_new_password(p).context("--admin-password (or CITYWATCH_ADMIN_PASSWORD)")?;
    }
    if fresh {
        // The simulator serves every camera for live view, but recording all
        // 240 would be too much for a laptop: only the tagged ones record.
        std::fs::create_dir_all(&args.data)?;
        let all = "record_tag = \"\"";
        anyhow::ensure!(crate::config::DEFAULT_CONFIG.contains(all), "the default configuration has no `{all}` line to set for the demo");
        let config = crate::config::DEFAULT_CONFIG.replace(all, &format!("record_tag = \"{RECORDED_TAG}\""));
        std::fs::write(args.data.join(crate::config::FILE_NAME), config)?;
    }
    let mut dir = DataDir::open(&args.data)?;
    if fresh {
        let password = match &args.admin_password {
            Some(p) => p.clone(),
            None => rand::distributions::DistString::sample_string(&rand::distributions::Alphanumeric, &mut rand::thread_rng(), 16),
        };
        populate(&dir, &password, args.cameras_per_district as usize, &args.sim_listen.to_string())?;
        crate::demo_hotlist::import(&dir, &SimConfig::demo(highest_camera(&dir)?))?;
        println!(
            "Demo city ready in {}.\n  accounts: admin, operator and dispatcher (all districts), auditor, officer01 … officer{:02} (patrol units)\n  password: {password}",
            dir.path.display(),
            crate::demo_units::officer_names().len()
        );
    } else {
        println!("Reusing the demo in {} (delete it for a fresh city).", dir.path.display());
    }
    // Started before the server, so the recorders find their cameras up.
    let sim = if args.no_sim { None } else { Some(start_sim(&dir, args.sim_listen)?) };
    let sim_config = SimConfig::demo(highest_camera(&dir)?);
    let lpr = crate::demo_lpr::setup(&mut dir, &sim_config, args.lpr_cameras.into(), args.lpr_fps)?;
    let (fix_every, hotlist_every) = (args.unit_fix_every_secs, args.hotlist_every_secs);
    crate::cmds::serve::serve_with(dir, args.listen, move |state| {
        if fix_every > 0.0 {
            crate::demo_units::start(state, Duration::from_secs_f64(fix_every))?;
        }
        let every = Duration::from_secs_f64(hotlist_every);
        let first = every.min(Duration::from_secs(30));
        if !lpr.is_empty() {
            // Even with no hits wanted, the entries must be made inactive.
            let every = Some(every).filter(|_| hotlist_every > 0.0);
            crate::demo_hotlist::start_windows(state, &sim_config, &lpr, first, every)?;
        } else if hotlist_every > 0.0 {
            crate::demo_hotlist::start(state, sim_config, first, every)?;
        }
        Ok(())
    })?;
    drop(sim);
    Ok(ExitCode::SUCCESS)
}

/// Serves the demo city's cameras (`cam-0001` … the highest id in the
/// directory) in this process, at the demo's light settings.
fn start_sim(dir: &DataDir, listen: SocketAddr) -> anyhow::Result<SimServer> {
    let cameras = highest_camera(dir)?;
    let sim = crate::cmds::sim::prepare(SimConfig::demo(cameras))?;
    let server =
        SimServer::spawn(sim, listen).context("starting the simulated cameras (another `citywatch demo` or `sim` running? use --sim-listen or --no-sim)")?;
    println!("Simulated cameras: rtsp://{}/cam-NNNN/{{main,sub}} (cam-0001 … cam-{cameras:04}).", server.addr);
    Ok(server)
}

/// The highest `cam-NNNN` number in the directory (the simulator serves 1 … it).
fn highest_camera(dir: &DataDir) -> anyhow::Result<u32> {
    Ok(dir.sqlite("the demo")?.list_cameras()?.iter().filter_map(|c| c.id.strip_prefix("cam-")?.parse::<u32>().ok()).max().unwrap_or(1))
}

fn populate(dir: &DataDir, password: &str, per_district: usize, rtsp_authority: &str) -> anyhow::Result<()> {
    dir.ensure_admin(Some(password))?;
    let hash = hash_password(password).context("the demo password")?;
    let officers = crate::demo_units::officer_names();
    let accounts = [("operator", Role::Operator), ("dispatcher", Role::Dispatcher), ("auditor", Role::Auditor)]
        .into_iter()
        .chain(officers.iter().map(|o| (o.as_str(), Role::Officer)));
    for (user, role) in accounts {
        // Through the separation of duties, like any other grant: the demo's
        // admin and auditor are two accounts.
        citywatch_audit::check_grant(Granter::MachineOperator, user, role, &[])?;
        let spec = GrantSpec { role, districts: None, expires_at: None };
        let entry = |grants: &Vec<Grant>, head: Option<&ChainHead>| {
            PendingEntry::new(Record::new("citywatch-demo", "user.create", user).detail(json!({"grants": grants}))).row_on(head)
        };
        let (_, row) = UserRepo::create_user(&*dir.repos.users, user, &hash, &[spec], Box::new(entry))?;
        dir.audit.appended(&row);
    }
    let city = demo_city_at(2026, per_district, rtsp_authority);
    let store = dir.sqlite("the demo")?;
    for d in &city.districts {
        store.put_district(d)?;
    }
    let outcome = store.upsert_cameras(&city.cameras)?;
    dir.audit
        .record(Record::new("citywatch-demo", "camera.import", "demo city").detail(json!({"created": outcome.created, "districts": city.districts.len()})))?;
    std::fs::write(dir.path.join(BASEMAP_FILE), city.basemap.to_string()).context("writing the demo base map")?;
    // The streets the demo units patrol, for ranking and routing them.
    std::fs::write(dir.path.join(ROADS_FILE), citywatch_sim::demo_roads().to_string()).context("writing the demo road network")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_demo_account_is_both_admin_and_auditor() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        populate(&dir, "demo-password-long", 1, "127.0.0.1:8554").unwrap();
        let users = dir.repos.users.users().unwrap();
        assert!(users.iter().any(|u| u.username == "admin") && users.iter().any(|u| u.username == "auditor"));
        for u in users {
            let roles: Vec<Role> = dir.repos.users.grants_of(&u.username).unwrap().into_iter().map(|g| g.role).collect();
            assert!(!(roles.contains(&Role::Admin) && roles.contains(&Role::Auditor)), "{} holds {roles:?}", u.username);
        }
    }
}
