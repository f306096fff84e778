//! Converts the TOML data files in `assets/` (client registry, catalog) into JSON arrays at
//! build time: parsing TOML cost most of every command's start-up, JSON straight into the
//! typed structs costs a fraction of it. The TOML files stay the source users read and edit.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (file, key) in [("clients", "clients"), ("catalog", "servers")] {
        let source = format!("assets/{file}.toml");
        println!("cargo::rerun-if-changed={source}");
        let text =
            std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("reading {source}: {e}"));
        let table: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{source} is not valid TOML: {e}"));
        let entries = table
            .get(key)
            .unwrap_or_else(|| panic!("{source} has no [[{key}]]"));
        let json = serde_json::to_string(entries).unwrap_or_else(|e| panic!("{source}: {e}"));
        std::fs::write(out.join(format!("{file}.json")), json)
            .unwrap_or_else(|e| panic!("writing {file}.json: {e}"));
    }
}
