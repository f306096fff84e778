//! Keymap tests: parsing, user patches, and key routing per layer.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rstest::rstest;

use super::*;

fn k(text: &str) -> KeyChord {
    KeyChord::parse(text).unwrap()
}

#[test]
fn the_embedded_keymap_parses() {
    Keymap::from_toml(DEFAULT).unwrap();
    let map = Keymap::default_keymap();
    for layer in Layer::ALL {
        assert!(
            !map.bindings(layer).is_empty(),
            "{} has no keys",
            layer.name()
        );
    }
}

#[rstest]
#[case("q", KeyCode::Char('q'), KeyModifiers::NONE)]
#[case("G", KeyCode::Char('G'), KeyModifiers::NONE)]
#[case("ctrl-c", KeyCode::Char('c'), KeyModifiers::CONTROL)]
#[case("ctrl-R", KeyCode::Char('r'), KeyModifiers::CONTROL)]
#[case("alt-x", KeyCode::Char('x'), KeyModifiers::ALT)]
#[case("enter", KeyCode::Enter, KeyModifiers::NONE)]
#[case("shift-tab", KeyCode::BackTab, KeyModifiers::NONE)]
#[case("space", KeyCode::Char(' '), KeyModifiers::NONE)]
#[case("f5", KeyCode::F(5), KeyModifiers::NONE)]
#[case("pgdn", KeyCode::PageDown, KeyModifiers::NONE)]
fn keys_parse(#[case] text: &str, #[case] code: KeyCode, #[case] mods: KeyModifiers) {
    assert_eq!(k(text), KeyChord { code, mods });
    // Printing and parsing again gives the same chord (arrows print as symbols).
    let printed = k(text).to_string();
    if !printed.starts_with(['↑', '↓', '←', '→']) {
        assert_eq!(KeyChord::parse(&printed).unwrap(), k(text));
    }
}

#[rstest]
#[case("")]
#[case("ctrl-")]
#[case("f13")]
#[case("hyper-x")]
#[case("enterr")]
fn invalid_keys_are_refused(#[case] text: &str) {
    assert!(KeyChord::parse(text).is_err());
}

#[test]
fn events_fold_shift_into_the_character() {
    let ev = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
    assert_eq!(KeyChord::from_event(&ev), k("G"));
    let ev = KeyEvent::new(KeyCode::Tab, KeyModifiers::SHIFT);
    assert_eq!(KeyChord::from_event(&ev), k("backtab"));
    let ev = KeyEvent::new(
        KeyCode::Char('C'),
        KeyModifiers::CONTROL | KeyModifiers::SHIFT,
    );
    assert_eq!(KeyChord::from_event(&ev), k("ctrl-c"));
}

#[test]
fn bad_files_name_the_problem() {
    assert!(
        Keymap::from_toml("nope = []")
            .unwrap_err()
            .contains("unknown layer")
    );
    assert!(
        Keymap::from_toml("global = [{ keys = [\"q\"], run = \"fly\" }]")
            .unwrap_err()
            .contains("fly")
    );
    assert!(
        Keymap::from_toml("global = [{ keys = [], run = \"quit\" }]")
            .unwrap_err()
            .contains("no keys")
    );
}

#[test]
fn a_user_file_patches_key_by_key() {
    let mut map = Keymap::default_keymap();
    map.patch(
        r#"
global = [
  { keys = ["q"], run = "noop" },
  { keys = ["ctrl-q"], run = "quit", desc = "quit", hint = true },
  { keys = ["x"], run = "help", desc = "help" },
]
"#,
        "user",
    )
    .unwrap();
    let g = [Layer::Global];
    assert_eq!(map.resolve(&g, &[], k("q")), Resolved::Unbound);
    assert_eq!(
        map.resolve(&g, &[], k("ctrl-q")),
        Resolved::Run(Command::Quit)
    );
    assert_eq!(map.resolve(&g, &[], k("x")), Resolved::Run(Command::Help));
    assert_eq!(
        map.resolve(&g, &[], k("?")),
        Resolved::Run(Command::Help),
        "others kept"
    );
    assert!(map.hints(&g).iter().any(|(keys, _)| keys == "ctrl-q"));
}

#[test]
fn a_broken_user_file_falls_back_to_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keymap.toml");
    std::fs::write(&path, "global = 3").unwrap();
    let (map, err) = Keymap::load(Some(&path));
    assert_eq!(map, Keymap::default_keymap());
    assert!(err.unwrap().contains("keymap.toml"));
    let (_, err) = Keymap::load(Some(&dir.path().join("missing.toml")));
    assert!(err.is_none());
}

/// (layers, key) → what the router does, for every layer.
#[rstest]
#[case(&[Layer::Help], "esc", Resolved::Run(Command::Help))]
#[case(&[Layer::Help], "x", Resolved::Unbound)]
#[case(&[Layer::Confirm], "y", Resolved::Run(Command::Confirm))]
#[case(&[Layer::Confirm], "n", Resolved::Run(Command::Cancel))]
#[case(&[Layer::Confirm], "q", Resolved::Unbound)]
#[case(&[Layer::Prompt], "enter", Resolved::Run(Command::Submit))]
#[case(&[Layer::Prompt], "q", Resolved::Text('q'))]
#[case(&[Layer::Prompt], "backspace", Resolved::Run(Command::DeleteChar))]
#[case(&[Layer::Form], "tab", Resolved::Run(Command::NextField))]
#[case(&[Layer::Form], "backtab", Resolved::Run(Command::PrevField))]
#[case(&[Layer::Form], "D", Resolved::Text('D'))]
#[case(&[Layer::Form], "ctrl-u", Resolved::Run(Command::ClearInput))]
#[case(&[Layer::Picker], "space", Resolved::Run(Command::Toggle))]
#[case(&[Layer::Picker], "j", Resolved::Run(Command::Down))]
#[case(&[Layer::Filter], "j", Resolved::Text('j'))]
#[case(&[Layer::Filter], "down", Resolved::Run(Command::Down))]
#[case(&[Layer::Filter], "enter", Resolved::Run(Command::Select))]
#[case(&[Layer::Clients, Layer::Global], "enter", Resolved::Run(Command::Select))]
#[case(&[Layer::Clients, Layer::Global], "p", Resolved::Run(Command::PickProfile))]
#[case(&[Layer::Catalog, Layer::Global], "/", Resolved::Run(Command::FocusFilter))]
#[case(&[Layer::Catalog, Layer::Global], "t", Resolved::Run(Command::CycleTransport))]
#[case(&[Layer::Catalog, Layer::Global], "q", Resolved::Run(Command::Quit))]
#[case(&[Layer::Draft, Layer::Global], "d", Resolved::Run(Command::Remove))]
#[case(&[Layer::Draft, Layer::Global], "D", Resolved::Run(Command::Deploy))]
#[case(&[Layer::Diff, Layer::Global], "pgdn", Resolved::Run(Command::PageDown))]
#[case(&[Layer::History, Layer::Global], "v", Resolved::Run(Command::Verify))]
#[case(&[Layer::History, Layer::Global], "R", Resolved::Run(Command::Rollback))]
#[case(&[Layer::Server, Layer::Global], "s", Resolved::Run(Command::StartServer))]
#[case(&[Layer::Server, Layer::Global], "x", Resolved::Run(Command::StopServer))]
#[case(&[Layer::Global], "g", Resolved::Pending)]
#[case(&[Layer::Global], "ctrl-c", Resolved::Run(Command::Quit))]
#[case(&[Layer::Global], "z", Resolved::Unbound)]
fn routing(#[case] layers: &[Layer], #[case] key: &str, #[case] expected: Resolved) {
    let map = Keymap::default_keymap();
    assert_eq!(map.resolve(layers, &[], k(key)), expected);
}

#[test]
fn sequences_complete() {
    let map = Keymap::default_keymap();
    let g = [Layer::Global];
    assert_eq!(
        map.resolve(&g, &[k("g")], k("g")),
        Resolved::Run(Command::Top)
    );
    assert_eq!(map.resolve(&g, &[k("g")], k("x")), Resolved::Unbound);
}

#[test]
fn keymap_doc_is_current() {
    let doc = Keymap::default_keymap().markdown();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/keymap.md");
    if std::env::var_os("UPDATE_KEYMAP_DOC").is_some() {
        std::fs::write(&path, &doc).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == doc,
        "docs/keymap.md is stale: run UPDATE_KEYMAP_DOC=1 cargo test keymap_doc"
    );
}
