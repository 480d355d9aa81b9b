//! The sharding planner on arbitrary statement text: it must answer (a plan or an
//! error), never panic, and every plan's per-node text must be valid UTF-8 slices of work.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tandem::router::plan::{self, Catalog, Lookups};

const CFG: &str = include_str!("../../tests/data/sharding/fuzz_router.yaml");

fn catalog() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(|| {
        let checked = tandem::config::check_str(CFG, "fuzz.yaml", std::path::Path::new("/"));
        let (cfg, _) = checked.into_result().expect("fuzz config is valid");
        Catalog::build(cfg.router.as_ref().expect("router"), std::path::Path::new("/"))
            .expect("catalog")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let cat = catalog();
    let mut l = Lookups::new();
    if let Ok(plan::Planned::Lookup(ls)) = plan::plan(cat, "shop", sql, &l) {
        for x in ls {
            l.insert(x, Some("dn1".into()));
        }
        let _ = plan::plan(cat, "shop", sql, &l);
    }
    l.ids = Some(vec![1, 2, 3, 4, 5, 6, 7, 8]);
    let _ = plan::plan(cat, "shop", sql, &l);
    let _ = plan::explain(cat, "shop", sql);
});
