//! The console's TypeScript declarations of what the API sends,
//! `web/src/generated/api.ts`, made from the Rust types that serialise it
//! (ts-rs reads their serde attributes), so a change on either side that
//! the other does not follow fails here instead of in an operator's browser.
//!
//! The test writes the declarations and compares them with the committed
//! file; `CITYWATCH_WRITE_TS=1` rewrites the file instead (then commit it).
//! One file, declarations sorted by name, no imports between files: the
//! console imports from one place and a diff reads as a list of changes.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::path::PathBuf;

use citywatch_dispatch::recommend::Recommendation;
use citywatch_model::dispatch::{ChecklistStep, Procedure, TimelineEntry, UnitKind, UnitStatus};
use citywatch_model::{Alert, AlertState, Camera, CameraStatus, EventType, FieldError, Grant, Role, Rule, RuleSpec, Severity};
use ts_rs::{Config, TypeVisitor, TS};

use crate::hotlists::{HotlistEntryView, HotlistView};
use crate::incidents::IncidentView;
use crate::legal_holds::LegalHoldView;
use crate::units::UnitView;
use crate::unmask_grants::{ListedUnmaskGrant, UnmaskGrantView};
use crate::users::UserAccount;

const HEADER: &str = "\
// Generated from the Rust types the API serialises (crates/api/src/typescript.rs).
// Do not edit: change the Rust type, then run
//   CITYWATCH_WRITE_TS=1 cargo nextest run --workspace -E 'test(typescript)'
// and commit this file. `web/src/api.ts` re-exports what the console uses.
";

/// Every declaration a type needs, itself included, by TypeScript name.
struct Declarations<'a> {
    cfg: &'a Config,
    by_name: BTreeMap<String, (TypeId, String)>,
}

impl TypeVisitor for Declarations<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives, arrays and options have no declaration of their own.
        if T::output_path().is_none() {
            return;
        }
        let name = T::ident(self.cfg);
        if let Some((seen, _)) = self.by_name.get(&name) {
            assert_eq!(*seen, TypeId::of::<T>(), "two Rust types are both called {name} in TypeScript: rename one with #[ts(rename)]");
            return;
        }
        let mut text = T::docs().unwrap_or_default();
        text.push_str("export ");
        text.push_str(&T::decl(self.cfg));
        self.by_name.insert(name, (TypeId::of::<T>(), text));
        T::visit_dependencies(self);
    }
}

fn generated() -> String {
    // JSON numbers are JavaScript numbers: ids (i64) stay far below 2^53.
    let cfg = Config::new().with_large_int("number");
    let mut d = Declarations { cfg: &cfg, by_name: BTreeMap::new() };
    // What the console reads; their dependencies come along.
    d.visit::<Camera>();
    d.visit::<CameraStatus>();
    d.visit::<Alert>();
    d.visit::<AlertState>();
    d.visit::<Severity>();
    d.visit::<EventType>();
    d.visit::<Rule>();
    d.visit::<RuleSpec>();
    d.visit::<Procedure>();
    d.visit::<FieldError>();
    d.visit::<Role>();
    d.visit::<Grant>();
    d.visit::<UserAccount>();
    d.visit::<UnitKind>();
    d.visit::<UnitStatus>();
    d.visit::<UnitView<'static>>();
    d.visit::<IncidentView<'static>>();
    d.visit::<ChecklistStep>();
    d.visit::<TimelineEntry>();
    d.visit::<Recommendation>();
    d.visit::<LegalHoldView<'static>>();
    d.visit::<UnmaskGrantView<'static>>();
    d.visit::<ListedUnmaskGrant<'static>>();
    d.visit::<HotlistView<'static>>();
    d.visit::<HotlistEntryView<'static>>();
    let mut out = String::from(HEADER);
    for (_, text) in d.by_name.values() {
        out.push('\n');
        out.push_str(text);
        out.push('\n');
    }
    out
}

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/src/generated/api.ts")
}

#[test]
fn typescript_declarations_match_the_committed_file() {
    let want = generated();
    let path = committed_path();
    if std::env::var_os("CITYWATCH_WRITE_TS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("the file has a folder")).expect("create web/src/generated");
        std::fs::write(&path, &want).expect("write web/src/generated/api.ts");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = |text: &str, n: usize| text.lines().nth(n).unwrap_or("(end of file)").to_owned();
        let n = have.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "web/src/generated/api.ts is not what the Rust types serialise.\n\
             At line {}, the file has\n  {}\nwhere the Rust types give\n  {}\n\
             Regenerate it with CITYWATCH_WRITE_TS=1 cargo nextest run --workspace -E 'test(typescript)', \
             commit it, and fix what `npm --prefix web run typecheck` then finds in the console.",
            n + 1,
            line(&have, n),
            line(&want, n),
        );
    }
}
