//! The architecture test: the dependencies between the modules and files of
//! `src/` against the layer table in `docs/architecture.md` ("## Layers").
//!
//! It reads every `.rs` file under `src/` (no compiler involved), finds each
//! reference to another part of the crate and fails on
//!
//! - a dependency of a module on one that its row of the table does not list
//!   under "May use" (in particular any dependency on a higher layer),
//! - a cycle between top-level modules, or between files,
//!
//! unless that exact violation is listed in
//! `tests/fixtures/architecture_known_violations.txt`. It also fails when a
//! listed violation no longer exists, so the list only ever shrinks.
//!
//! What counts as a dependency of a file (comments, string and character
//! literals are blanked first, so doc links such as [`crate::engine::CpuEngine`]
//! and paths in strings are not dependencies):
//!
//! - every path of a `use` item (`use`, `pub use`, `pub(crate) use`, groups
//!   `{a, b::{c, d}}`, `self`, globs, `as` renames), wherever it appears;
//! - every path written in code that starts with `crate::`, `$crate::`
//!   (macro bodies), `super::` or `self::`, and in `main.rs` `neirosynth::`;
//! - in a file with child modules (`mod.rs`, `lib.rs`), a path starting with
//!   a child's name (`voice::Voice` in `engine/mod.rs`).
//!
//! `mod x;` declarations are not dependencies. A path to a name that a
//! `mod.rs` re-exports from its own children (`crate::gpu::GpuEngine`) counts
//! as a dependency on the child's file (`gpu/engine.rs`), so a facade does not
//! make cycles; re-exports from another module are not followed (naming
//! `crate::control::command::ExciteShape` depends on `control`).
//! `#[cfg(test)]` code inside `src/` counts like any other code: a test that
//! needs a higher layer belongs under `tests/`. `super::` inside an inline
//! module (`mod tests { use super::*; }`) is the enclosing file.
//!
//! `ARCHITECTURE_ROOT=/some/copy cargo test --test architecture` checks
//! another tree (its `src/`, `docs/architecture.md` and allow-list); the
//! `dependency_report` test (ignored by default) prints the whole graph.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const DOC: &str = "docs/architecture.md";
const ALLOW_LIST: &str = "tests/fixtures/architecture_known_violations.txt";

// ---------------------------------------------------------------- sources

/// One source file: its path relative to `src/` and its text.
struct Source {
    rel: String,
    text: String,
}

fn root() -> PathBuf {
    match std::env::var_os("ARCHITECTURE_ROOT") {
        Some(r) => PathBuf::from(r),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    }
}

fn read_sources(src: &Path) -> Vec<Source> {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<Source>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, src, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).expect("under src/");
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let text = std::fs::read_to_string(&p)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
                out.push(Source { rel, text });
            }
        }
    }
    let mut out = Vec::new();
    walk(src, src, &mut out);
    out
}

/// The module path of a file (`engine/voice.rs` → `[engine, voice]`,
/// `engine/mod.rs` → `[engine]`, `lib.rs` and `main.rs` → `[]`).
fn module_path(rel: &str) -> Vec<String> {
    if rel == "lib.rs" || rel == "main.rs" {
        return Vec::new();
    }
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    let last = parts.pop().expect("a file name");
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_owned());
    }
    parts
}

/// Whether a file is the binary's: `main.rs` and its subcommands in
/// `cli/` (declared by `main.rs`, not by the library).
fn is_binary(rel: &str) -> bool {
    rel == "main.rs" || rel.starts_with("cli/")
}

/// The top-level module a file belongs to (`lib` and `main` for the roots;
/// the binary's `cli/` files are `main`).
fn top_module(rel: &str) -> String {
    match rel {
        "lib.rs" => "lib".into(),
        _ if is_binary(rel) => "main".into(),
        _ => module_path(rel)[0].clone(),
    }
}

// ------------------------------------------------------------------ lexing

/// Blanks comments (line, block, nested, doc) and string, raw string and
/// character literals, keeping every newline so lines still count.
fn strip_comments_and_strings(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        let prev = if i > 0 { Some(c[i - 1]) } else { None };
        if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0usize;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if ch == 'r'
            && (prev.is_none_or(|p| !ident(p))
                || (prev == Some('b') && (i < 2 || !ident(c[i - 2]))))
            && {
                let mut j = i + 1;
                while c.get(j) == Some(&'#') {
                    j += 1;
                }
                c.get(j) == Some(&'"')
            }
        {
            // Raw string r"…", r#"…"#, br"…".
            let mut hashes = 0;
            out.push(' ');
            i += 1;
            while c[i] == '#' {
                hashes += 1;
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
            while i < c.len() {
                if c[i] == '"' && (1..=hashes).all(|k| c.get(i + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += hashes + 1;
                    break;
                }
                out.push(blank(c[i]));
                i += 1;
            }
        } else if ch == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                    if i < c.len() {
                        out.push(blank(c[i]));
                        i += 1;
                    }
                } else if c[i] == '"' {
                    out.push(' ');
                    i += 1;
                    break;
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if ch == '\'' && next == Some('\\') {
            // Escaped character literal: '\n', '\'', '\u{…}'.
            out.push_str("  ");
            i += 2;
            if i < c.len() {
                out.push(' ');
                i += 1;
            }
            while i < c.len() && c[i] != '\'' && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
            if i < c.len() && c[i] == '\'' {
                out.push(' ');
                i += 1;
            }
        } else if ch == '\'' && c.get(i + 2) == Some(&'\'') && next != Some('\n') {
            // Character literal 'x' (a lifetime 'a is left alone).
            out.push_str("   ");
            i += 3;
        } else {
            out.push(ch);
            i += 1;
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

fn tokenize(stripped: &str) -> Vec<Token> {
    let c: Vec<char> = stripped.chars().collect();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else if ch == '$' && c.get(i + 1..i + 6) == Some(&['c', 'r', 'a', 't', 'e'][..]) {
            out.push(Token {
                tok: Tok::Ident("$crate".into()),
                line,
            });
            i += 6;
        } else if ch.is_ascii_digit() {
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Punct('0'),
                line,
            });
        } else if ident(ch) {
            let start = i;
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            // Raw identifier r#name.
            if word == "r" && c.get(i) == Some(&'#') && c.get(i + 1).is_some_and(|&x| ident(x)) {
                let s = i + 1;
                i = s;
                while i < c.len() && ident(c[i]) {
                    i += 1;
                }
                let word: String = c[s..i].iter().collect();
                out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                });
            } else {
                out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                });
            }
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    out
}

fn is_ident(t: Option<&Token>, word: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Ident(w), .. }) if w == word)
}

fn is_punct(t: Option<&Token>, ch: char) -> bool {
    matches!(t, Some(Token { tok: Tok::Punct(p), .. }) if *p == ch)
}

fn is_sep(t: Option<&Token>) -> bool {
    matches!(
        t,
        Some(Token {
            tok: Tok::PathSep,
            ..
        })
    )
}

fn ident_of(t: Option<&Token>) -> Option<&str> {
    match t {
        Some(Token {
            tok: Tok::Ident(w), ..
        }) => Some(w),
        _ => None,
    }
}

// -------------------------------------------------------------- use trees

/// One leaf of a `use` tree: its full path, the name it binds (`None` for a
/// glob) and the line of its last segment.
#[derive(Debug, PartialEq)]
struct UseLeaf {
    segs: Vec<String>,
    binds: Option<String>,
    line: usize,
}

/// Expands a `use` tree (the tokens between `use` and `;`) into leaves.
fn parse_use_tree(toks: &[Token]) -> Vec<UseLeaf> {
    fn tree(toks: &[Token], pos: &mut usize, prefix: &[String], out: &mut Vec<UseLeaf>) {
        let mut segs = prefix.to_vec();
        if is_sep(toks.get(*pos)) {
            *pos += 1; // leading `::`
        }
        let mut line = toks.get(*pos).map_or(0, |t| t.line);
        loop {
            match toks.get(*pos) {
                Some(Token {
                    tok: Tok::Ident(w),
                    line: l,
                }) => {
                    segs.push(w.clone());
                    line = *l;
                    *pos += 1;
                    if is_sep(toks.get(*pos)) {
                        *pos += 1;
                        continue;
                    }
                    // A leaf: `name`, `name as alias`, `self`.
                    let mut binds = segs.last().cloned();
                    if is_ident(toks.get(*pos), "as") {
                        binds = ident_of(toks.get(*pos + 1)).map(str::to_owned);
                        *pos += 2;
                    }
                    if segs.last().is_some_and(|s| s == "self") && segs.len() > 1 {
                        segs.pop();
                        if binds.as_deref() == Some("self") {
                            binds = segs.last().cloned();
                        }
                    }
                    out.push(UseLeaf { segs, binds, line });
                    return;
                }
                Some(Token {
                    tok: Tok::Punct('*'),
                    line: l,
                }) => {
                    *pos += 1;
                    out.push(UseLeaf {
                        segs,
                        binds: None,
                        line: *l,
                    });
                    return;
                }
                Some(Token {
                    tok: Tok::Punct('{'),
                    ..
                }) => {
                    *pos += 1;
                    loop {
                        if is_punct(toks.get(*pos), '}') {
                            *pos += 1;
                            return;
                        }
                        if toks.get(*pos).is_none() {
                            return;
                        }
                        let before = *pos;
                        tree(toks, pos, &segs, out);
                        if is_punct(toks.get(*pos), ',') {
                            *pos += 1;
                        } else if *pos == before {
                            *pos += 1; // unexpected token: skip it
                        }
                    }
                }
                _ => {
                    let _ = line;
                    return;
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut pos = 0;
    tree(toks, &mut pos, &[], &mut out);
    out
}

// ------------------------------------------------------------ references

/// A reference found in a file: where, the module it was written in (file
/// module plus inline modules), the path as written, and whether it is a
/// `pub use` leaf (a re-export).
#[derive(Debug)]
struct Ref {
    line: usize,
    ctx: Vec<String>,
    segs: Vec<String>,
    reexport_as: Option<String>,
}

/// Finds the references of one file. `children` answers whether a name is
/// a child module of a module path (for bare paths such as `voice::Voice`).
fn scan_file(rel: &str, text: &str, children: &dyn Fn(&[String], &str) -> bool) -> Vec<Ref> {
    let toks = tokenize(&strip_comments_and_strings(text));
    let is_bin = is_binary(rel);
    let file_mod = module_path(rel);
    let mut refs = Vec::new();
    let mut depth = 0usize;
    let mut inline: Vec<(String, usize)> = Vec::new();
    let ctx_of = |inline: &[(String, usize)]| {
        let mut c = file_mod.clone();
        c.extend(inline.iter().map(|(n, _)| n.clone()));
        c
    };
    let relevant = |ctx: &[String], first: &str| -> bool {
        match first {
            "crate" | "$crate" => !is_bin,
            "neirosynth" => is_bin,
            // The binary's own paths (`crate::`, `super::` in `cli/`) are not the library's.
            "super" | "self" => !is_bin,
            name => !is_bin && children(ctx, name),
        }
    };
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match &t.tok {
            Tok::Ident(w) if w == "mod" => {
                if let (Some(name), true) =
                    (ident_of(toks.get(i + 1)), is_punct(toks.get(i + 2), '{'))
                {
                    depth += 1;
                    inline.push((name.to_owned(), depth));
                    i += 3;
                    continue;
                }
            }
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|&(_, d)| d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(w) if w == "use" => {
                // `pub use`, `pub(crate) use`, `pub(in …) use`
                let mut is_pub = is_ident(i.checked_sub(1).and_then(|k| toks.get(k)), "pub");
                if is_punct(i.checked_sub(1).and_then(|k| toks.get(k)), ')') {
                    let mut k = i - 1;
                    while k > 0 && !is_punct(toks.get(k), '(') {
                        k -= 1;
                    }
                    is_pub = k > 0 && is_ident(toks.get(k - 1), "pub");
                }
                let end = (i + 1..toks.len())
                    .find(|&k| is_punct(toks.get(k), ';'))
                    .unwrap_or(toks.len());
                let ctx = ctx_of(&inline);
                for leaf in parse_use_tree(&toks[i + 1..end]) {
                    if leaf.segs.first().is_some_and(|f| relevant(&ctx, f)) {
                        refs.push(Ref {
                            line: leaf.line,
                            ctx: ctx.clone(),
                            reexport_as: if is_pub { leaf.binds.clone() } else { None },
                            segs: leaf.segs,
                        });
                    }
                }
                i = end + 1;
                continue;
            }
            Tok::Ident(first)
                if is_sep(toks.get(i + 1))
                    && !is_sep(i.checked_sub(1).and_then(|k| toks.get(k))) =>
            {
                let mut segs = vec![first.clone()];
                let mut j = i;
                while is_sep(toks.get(j + 1)) {
                    match ident_of(toks.get(j + 2)) {
                        Some(w) => {
                            segs.push(w.to_owned());
                            j += 2;
                        }
                        None => break,
                    }
                }
                let ctx = ctx_of(&inline);
                if relevant(&ctx, first) {
                    refs.push(Ref {
                        line: t.line,
                        ctx,
                        segs,
                        reexport_as: None,
                    });
                }
                i = j + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    refs
}

/// The absolute module path (from the library's root) a path names, or
/// `None` when it is not the library's (an outside crate, or `crate::`,
/// `super::` in the binary: `main.rs` and `cli/`).
fn absolute(rel: &str, ctx: &[String], segs: &[String]) -> Option<Vec<String>> {
    let is_bin = is_binary(rel);
    let (mut base, rest) = match segs[0].as_str() {
        "crate" | "$crate" if !is_bin => (Vec::new(), &segs[1..]),
        "neirosynth" if is_bin => (Vec::new(), &segs[1..]),
        "super" | "self" if !is_bin => (ctx.to_vec(), segs),
        _ if !is_bin => (ctx.to_vec(), segs),
        _ => return None,
    };
    let mut k = 0;
    while k < rest.len() {
        match rest[k].as_str() {
            "super" => {
                base.pop()?;
            }
            "self" => {}
            _ => break,
        }
        k += 1;
    }
    base.extend(rest[k..].iter().cloned());
    Some(base)
}

// ---------------------------------------------------------------- graphs

/// Where a dependency is written.
#[derive(Clone, Debug)]
struct Site {
    file: String,
    line: usize,
    code: String,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "src/{}:{}: {}", self.file, self.line, self.code)
    }
}

type Edges = BTreeMap<(String, String), Vec<Site>>;

struct Graphs {
    /// file → file (paths relative to `src/`).
    files: Edges,
    /// top-level module → top-level module.
    modules: Edges,
    /// every top-level module that has a file.
    module_names: BTreeSet<String>,
}

fn analyze(sources: &[Source]) -> Graphs {
    let lib: Vec<&Source> = sources.iter().filter(|s| !is_binary(&s.rel)).collect();
    let modules: HashMap<Vec<String>, &str> = lib
        .iter()
        .map(|s| (module_path(&s.rel), s.rel.as_str()))
        .collect();
    let children = |ctx: &[String], name: &str| {
        let mut p = ctx.to_vec();
        p.push(name.to_owned());
        modules.contains_key(&p)
    };
    let scanned: Vec<(&Source, Vec<Ref>)> = sources
        .iter()
        .map(|s| (s, scan_file(&s.rel, &s.text, &children)))
        .collect();

    // Re-exports: file → bound name → absolute target path.
    let mut reexports: HashMap<&str, HashMap<String, Vec<String>>> = HashMap::new();
    for (s, refs) in &scanned {
        for r in refs {
            if let (Some(name), Some(abs)) = (&r.reexport_as, absolute(&s.rel, &r.ctx, &r.segs)) {
                reexports
                    .entry(s.rel.as_str())
                    .or_default()
                    .insert(name.clone(), abs);
            }
        }
    }
    fn resolve<'a>(
        abs: &[String],
        modules: &HashMap<Vec<String>, &'a str>,
        reexports: &HashMap<&str, HashMap<String, Vec<String>>>,
        depth: usize,
    ) -> &'a str {
        let mut k = abs.len();
        loop {
            if let Some(&file) = modules.get(&abs[..k]) {
                if k < abs.len() && depth < 8 {
                    if let Some(target) = reexports.get(file).and_then(|m| m.get(&abs[k])) {
                        let mut t = target.clone();
                        t.extend(abs[k + 1..].iter().cloned());
                        let to = resolve(&t, modules, reexports, depth + 1);
                        if top_module(to) == top_module(file) {
                            return to;
                        }
                    }
                }
                return file;
            }
            k -= 1;
        }
    }

    let mut files: Edges = BTreeMap::new();
    let mut mods: Edges = BTreeMap::new();
    for (s, refs) in &scanned {
        let lines: Vec<&str> = s.text.lines().collect();
        for r in refs {
            let Some(abs) = absolute(&s.rel, &r.ctx, &r.segs) else {
                continue;
            };
            if !modules.contains_key(&Vec::new()) {
                continue; // no lib.rs: nothing to resolve against
            }
            let to = resolve(&abs, &modules, &reexports, 0);
            if to == s.rel {
                continue;
            }
            let code = lines.get(r.line - 1).map_or("", |l| l.trim());
            let code: String = if code.chars().count() > 100 {
                code.chars().take(97).chain("...".chars()).collect()
            } else {
                code.to_owned()
            };
            let site = Site {
                file: s.rel.clone(),
                line: r.line,
                code,
            };
            // One site per line and edge (a `use` group names many items).
            let push = |v: &mut Vec<Site>, site: Site| {
                if !v.iter().any(|x| x.file == site.file && x.line == site.line) {
                    v.push(site);
                }
            };
            let (fm, tm) = (top_module(&s.rel), top_module(to));
            if fm != tm {
                push(mods.entry((fm, tm)).or_default(), site.clone());
            }
            push(
                files.entry((s.rel.clone(), to.to_owned())).or_default(),
                site,
            );
        }
    }
    Graphs {
        files,
        modules: mods,
        module_names: sources.iter().map(|s| top_module(&s.rel)).collect(),
    }
}

/// Strongly connected components with more than one node (Tarjan).
fn cycles(edges: &Edges) -> Vec<Vec<String>> {
    let mut adj: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        adj.entry(a).or_default().push(b);
        adj.entry(b).or_default();
    }
    struct St<'a> {
        adj: BTreeMap<&'a str, Vec<&'a str>>,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(st: &mut St<'a>, v: &'a str) {
        st.index.insert(v, st.next);
        st.low.insert(v, st.next);
        st.next += 1;
        st.stack.push(v);
        st.on.insert(v);
        for w in st.adj[v].clone() {
            if !st.index.contains_key(w) {
                visit(st, w);
                let l = st.low[v].min(st.low[w]);
                st.low.insert(v, l);
            } else if st.on.contains(w) {
                let l = st.low[v].min(st.index[w]);
                st.low.insert(v, l);
            }
        }
        if st.low[v] == st.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                st.out.push(comp);
            }
        }
    }
    let nodes: Vec<&str> = adj.keys().copied().collect();
    let mut st = St {
        adj,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in nodes {
        if !st.index.contains_key(v) {
            visit(&mut st, v);
        }
    }
    st.out.sort();
    st.out
}

// ----------------------------------------------------------- layer table

#[derive(Debug)]
struct Row {
    layer: u32,
    may_use: BTreeSet<String>,
    doc_line: usize,
}

/// Names in backticks in a table cell.
fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().to_owned())
        .collect()
}

/// Parses the first table under "## Layers": `| layer | modules | may use | … |`.
fn parse_layers(doc: &str) -> Result<BTreeMap<String, Row>, String> {
    let mut in_section = false;
    let mut in_table = false;
    let mut rows = BTreeMap::new();
    for (n, line) in doc.lines().enumerate() {
        let t = line.trim();
        if t.starts_with("## ") {
            if in_section {
                break;
            }
            in_section = t == "## Layers";
            continue;
        }
        if !in_section {
            continue;
        }
        if !t.starts_with('|') {
            if in_table {
                break;
            }
            continue;
        }
        in_table = true;
        let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
        let Ok(layer) = cells[0].parse::<u32>() else {
            continue; // the header and the |---| line
        };
        if cells.len() < 3 {
            return Err(format!(
                "{DOC}:{}: a layer row needs at least 3 cells",
                n + 1
            ));
        }
        let may_use: BTreeSet<String> = backticked(cells[2]).into_iter().collect();
        for m in backticked(cells[1]) {
            let row = Row {
                layer,
                may_use: may_use.clone(),
                doc_line: n + 1,
            };
            if rows.insert(m.clone(), row).is_some() {
                return Err(format!("{DOC}:{}: `{m}` is in two rows", n + 1));
            }
        }
    }
    if rows.is_empty() {
        return Err(format!("{DOC}: no layer table under \"## Layers\""));
    }
    Ok(rows)
}

/// Problems with the table itself: modules missing from it or from `src/`,
/// "May use" entries that are unknown, higher up, or make a cycle.
fn check_table(table: &BTreeMap<String, Row>, module_names: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    for m in module_names {
        if !table.contains_key(m) {
            out.push(format!(
                "module `{m}` (src/) has no row in the layer table of {DOC}: add it to \
                 the row of the layer it belongs to, with what it may use"
            ));
        }
    }
    let mut allowed: Edges = BTreeMap::new();
    for (m, row) in table {
        if !module_names.contains(m) {
            out.push(format!(
                "{DOC}:{}: `{m}` is in the layer table but there is no such module \
                 in src/: remove or rename it in the table",
                row.doc_line
            ));
        }
        for u in &row.may_use {
            match table.get(u) {
                None => out.push(format!(
                    "{DOC}:{}: `{m}` may use `{u}`, which is not in the table",
                    row.doc_line
                )),
                Some(r) if r.layer > row.layer => out.push(format!(
                    "{DOC}:{}: `{m}` (layer {}) may use `{u}` (layer {}): a module may only \
                     use its own layer or lower ones",
                    row.doc_line, row.layer, r.layer
                )),
                Some(_) => {
                    allowed.insert((m.clone(), u.clone()), Vec::new());
                }
            }
        }
    }
    for c in cycles(&allowed) {
        out.push(format!(
            "{DOC}: the \"May use\" cells make a cycle between {}: the table must be acyclic",
            c.join(", ")
        ));
    }
    out
}

// ------------------------------------------------------------ violations

/// One violation, as written in the allow-list.
fn layer_key(from: &str, to: &str) -> String {
    format!("layer {from} -> {to}")
}

fn module_cycle_key(c: &[String]) -> String {
    format!("module-cycle {}", c.join(" "))
}

fn file_cycle_key(c: &[String]) -> String {
    format!("file-cycle {}", c.join(" "))
}

/// Every violation in the tree, keyed as in the allow-list, with a
/// description (sites and what to do).
fn violations(g: &Graphs, table: &BTreeMap<String, Row>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for ((from, to), sites) in &g.modules {
        let (Some(fr), Some(tr)) = (table.get(from), table.get(to)) else {
            continue; // reported by check_table
        };
        if fr.may_use.contains(to) {
            continue;
        }
        let mut s = String::new();
        let may: Vec<&str> = fr.may_use.iter().map(String::as_str).collect();
        let may = if may.is_empty() {
            "nothing".to_owned()
        } else {
            may.join(", ")
        };
        if tr.layer >= fr.layer {
            let _ = writeln!(
                s,
                "`{from}` (layer {}) uses `{to}` (layer {}): a dependency on the same or a \
                 higher layer. `{from}` may use: {may}.",
                fr.layer, tr.layer
            );
        } else {
            let _ = writeln!(
                s,
                "`{from}` (layer {}) uses `{to}` (layer {}), which its row of the layer \
                 table does not allow. `{from}` may use: {may}.",
                fr.layer, tr.layer
            );
        }
        for site in sites {
            let _ = writeln!(s, "    {site}");
        }
        if tr.layer >= fr.layer {
            let _ = write!(
                s,
                "  To fix: move what `{from}` needs from `{to}` down to a layer both may \
                 use, or let `{to}` hand it in (a trait or a plain type defined below, \
                 implemented or filled in above). See \"How to add a dependency\" in {DOC}."
            );
        } else {
            let _ = write!(
                s,
                "  To fix: if `{from}` should depend on `{to}`, add `{to}` to the \"May use\" \
                 cell of `{from}` in {DOC} (## Layers) in the same change, and say why in \
                 its commit; otherwise use what `{from}` may use."
            );
        }
        out.insert(layer_key(from, to), s);
    }
    let describe_cycle = |c: &[String], edges: &Edges, what: &str| {
        let mut s = format!("a cycle between {what}: {}\n", c.join(", "));
        for ((a, b), sites) in edges {
            if c.contains(a) && c.contains(b) {
                let _ = writeln!(s, "    {a} -> {b}:");
                for site in sites.iter().take(3) {
                    let _ = writeln!(s, "      {site}");
                }
                if sites.len() > 3 {
                    let _ = writeln!(s, "      ... and {} more", sites.len() - 3);
                }
            }
        }
        let _ = write!(
            s,
            "  To fix: break one of the edges above (move the shared item into the \
             lower of the two, or into a new file both use)."
        );
        s
    };
    for c in cycles(&g.modules) {
        out.insert(
            module_cycle_key(&c),
            describe_cycle(&c, &g.modules, "modules"),
        );
    }
    for c in cycles(&g.files) {
        let edges: Edges = g
            .files
            .iter()
            .map(|((a, b), v)| ((format!("src/{a}"), format!("src/{b}")), v.clone()))
            .collect();
        let shown: Vec<String> = c.iter().map(|f| format!("src/{f}")).collect();
        out.insert(file_cycle_key(&c), describe_cycle(&shown, &edges, "files"));
    }
    out
}

/// The allow-list: key → (line number, reason).
fn parse_allow_list(text: &str) -> (BTreeMap<String, usize>, Vec<String>) {
    let mut keys = BTreeMap::new();
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let (spec, reason) = t.split_once('#').unwrap_or((t, ""));
        let key = spec.split_whitespace().collect::<Vec<_>>().join(" ");
        if reason.trim().is_empty() {
            problems.push(format!(
                "{ALLOW_LIST}:{}: `{key}` has no reason: add `# why it is tolerated`",
                n + 1
            ));
        }
        if keys.insert(key.clone(), n + 1).is_some() {
            problems.push(format!("{ALLOW_LIST}:{}: `{key}` is listed twice", n + 1));
        }
    }
    (keys, problems)
}

/// Everything wrong, as messages (empty when the tree passes).
fn check(root: &Path) -> Vec<String> {
    let sources = read_sources(&root.join("src"));
    let doc = std::fs::read_to_string(root.join(DOC)).expect("docs/architecture.md");
    let allow_text = std::fs::read_to_string(root.join(ALLOW_LIST)).unwrap_or_default();
    check_sources(&sources, &doc, &allow_text)
}

/// [`check`] on sources, the architecture document and the allow-list.
fn check_sources(sources: &[Source], doc: &str, allow_text: &str) -> Vec<String> {
    let g = analyze(sources);
    let table = match parse_layers(doc) {
        Ok(t) => t,
        Err(e) => return vec![e],
    };
    let mut problems = check_table(&table, &g.module_names);
    let (allowed, allow_problems) = parse_allow_list(allow_text);
    problems.extend(allow_problems);
    let found = violations(&g, &table);
    // A listed cycle that lost members (or split) is reported once, as a
    // line to replace, rather than as a new cycle plus a fixed one.
    let members = |key: &str| -> Option<(String, BTreeSet<String>)> {
        let (kind, rest) = key.split_once(' ')?;
        kind.ends_with("-cycle").then(|| {
            (
                kind.to_owned(),
                rest.split(' ').map(str::to_owned).collect(),
            )
        })
    };
    let gone: Vec<(&String, usize)> = allowed
        .iter()
        .filter(|(k, _)| !found.contains_key(*k))
        .map(|(k, &l)| (k, l))
        .collect();
    let mut shrunk_from: BTreeSet<&String> = BTreeSet::new();
    for (key, desc) in &found {
        if allowed.contains_key(key) {
            continue;
        }
        let old = members(key).and_then(|(kind, m)| {
            gone.iter()
                .find(|(g, _)| members(g).is_some_and(|(gk, gm)| gk == kind && m.is_subset(&gm)))
        });
        match old {
            Some(&(old_key, line)) => {
                shrunk_from.insert(old_key);
                problems.push(format!(
                    "SHRUNK: {ALLOW_LIST}:{line}: `{old_key}` is smaller now: replace this \
                     line with `{key}` (keep the reason).\n  Now: {desc}"
                ));
            }
            None => {
                // A listed cycle that grew: say which members are new.
                let grew = members(key).and_then(|(kind, m)| {
                    gone.iter().find_map(|(g, _)| {
                        let (gk, gm) = members(g)?;
                        (gk == kind && gm.is_subset(&m)).then(|| {
                            let added: Vec<&str> = m.difference(&gm).map(String::as_str).collect();
                            format!(
                                "\n  It grew from the listed `{g}`: the edges to and from \
                                 {} are new.",
                                added.join(", ")
                            )
                        })
                    })
                });
                problems.push(format!(
                    "NEW violation `{key}`: {desc}{}\n  (Listing it in {ALLOW_LIST} is for \
                     violations that predate this test; the list is meant to shrink.)",
                    grew.unwrap_or_default()
                ))
            }
        }
    }
    for (key, line) in gone {
        if shrunk_from.contains(key) {
            continue;
        }
        let grown = members(key).and_then(|(kind, m)| {
            found.keys().find(|f| {
                !allowed.contains_key(*f)
                    && members(f).is_some_and(|(fk, fm)| fk == kind && m.is_subset(&fm))
            })
        });
        match grown {
            Some(bigger) => problems.push(format!(
                "GREW: {ALLOW_LIST}:{line}: `{key}` is now part of the bigger `{bigger}` \
                 (see NEW above): break the new edge, do not edit this line."
            )),
            None => problems.push(format!(
                "FIXED: {ALLOW_LIST}:{line}: `{key}` no longer exists: remove this line, \
                 it is fixed."
            )),
        }
    }
    problems
}

#[test]
fn dependencies_follow_the_layer_table() {
    let problems = check(&root());
    assert!(
        problems.is_empty(),
        "\n{} architecture problem(s) (layers: {DOC}, ## Layers; known violations: \
         {ALLOW_LIST}):\n\n{}\n",
        problems.len(),
        problems.join("\n\n")
    );
}

/// `cargo test --test architecture -- --ignored --nocapture` prints every
/// module dependency with the number of places it is written, and the
/// cycles.
#[test]
#[ignore]
fn dependency_report() {
    let g = analyze(&read_sources(&root().join("src")));
    println!("module dependencies (places):");
    for ((a, b), s) in &g.modules {
        println!("  {a} -> {b} ({})", s.len());
    }
    println!("module cycles: {:?}", cycles(&g.modules));
    println!("file dependencies:");
    for ((a, b), s) in &g.files {
        println!("  {a} -> {b} (line {})", s[0].line);
    }
    println!("file cycles:");
    for c in cycles(&g.files) {
        println!("  {}", c.join(" "));
    }
}

// ------------------------------------------------- the scanner's own tests

fn src(rel: &str, text: &str) -> Source {
    Source {
        rel: rel.into(),
        text: text.into(),
    }
}

fn edge_keys(e: &Edges) -> Vec<String> {
    e.keys().map(|(a, b)| format!("{a} -> {b}")).collect()
}

#[test]
fn scanner_ignores_comments_strings_and_doc_links() {
    let g = analyze(&[
        src("lib.rs", "pub mod a;\npub mod b;\n"),
        src(
            "a.rs",
            "//! See [`crate::b::B`].\n/* crate::b::B /* nested */ crate::b */\n\
             const S: &str = \"crate::b::B\";\nconst R: &str = r#\"crate::b\"#;\n\
             const C: char = '\\'';\nfn f<'x>(_: &'x str) -> char { 'c' }\n",
        ),
        src("b.rs", "pub struct B;\n"),
    ]);
    assert!(g.modules.is_empty(), "{:?}", edge_keys(&g.modules));
}

#[test]
fn scanner_finds_uses_groups_paths_and_macros() {
    let g = analyze(&[
        src(
            "lib.rs",
            "pub mod a;\npub mod b;\npub mod c;\npub mod d;\npub mod e;\n",
        ),
        src(
            "a.rs",
            "use crate::{b::{self, B}, c::C as Sea};\nfn f() { let _ = crate::d::D; }\n\
             macro_rules! m { () => { $crate::e::E } }\n",
        ),
        src("b.rs", "pub struct B;\n"),
        src("c.rs", "pub struct C;\n"),
        src("d.rs", "pub struct D;\n"),
        src("e.rs", "pub struct E;\n"),
    ]);
    assert_eq!(
        edge_keys(&g.modules),
        ["a -> b", "a -> c", "a -> d", "a -> e"]
    );
    let site = &g.modules[&("a".to_owned(), "d".to_owned())][0];
    assert_eq!((site.file.as_str(), site.line), ("a.rs", 2));
}

#[test]
fn scanner_resolves_super_children_and_facades() {
    let g = analyze(&[
        src("lib.rs", "pub mod m;\n"),
        src(
            "m/mod.rs",
            "pub mod x;\npub mod y;\npub use x::X;\nfn f() { y::g(); }\n",
        ),
        // super:: inside `mod tests` is the file itself; super::X is x.rs
        // through the facade, not mod.rs.
        src(
            "m/y.rs",
            "use super::X;\npub fn g() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
        src("m/x.rs", "pub struct X;\n"),
    ]);
    assert_eq!(
        edge_keys(&g.files),
        [
            "m/mod.rs -> m/x.rs",
            "m/mod.rs -> m/y.rs",
            "m/y.rs -> m/x.rs"
        ]
    );
    assert!(cycles(&g.files).is_empty());
}

#[test]
fn an_upward_use_and_a_cycle_are_violations() {
    let doc = "# A\n\n## Layers\n\n| Layer | Modules | May use | Role |\n|---|---|---|---|\n\
               | 0 | `low` | — | bottom |\n| 1 | `high`, `lib` | `low` | top |\n\n## Next\n";
    let table = parse_layers(doc).expect("table");
    let g = analyze(&[
        src("lib.rs", "pub mod high;\npub mod low;\n"),
        src("low.rs", "use crate::high::H;\npub struct L;\n"),
        src("high.rs", "pub struct H(crate::low::L);\n"),
    ]);
    assert!(check_table(&table, &g.module_names).is_empty());
    let v = violations(&g, &table);
    let keys: Vec<&str> = v.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "file-cycle high.rs low.rs",
            "layer low -> high",
            "module-cycle high low"
        ]
    );
    assert!(v["layer low -> high"].contains("src/low.rs:1: use crate::high::H;"));
}

#[test]
fn main_uses_the_library_by_its_name() {
    let g = analyze(&[
        src("lib.rs", "pub mod a;\n"),
        src("a.rs", "pub fn f() {}\n"),
        src(
            "main.rs",
            "use neirosynth::a;\nfn main() { crate::g(); a::f(); }\nfn g() {}\n",
        ),
    ]);
    assert_eq!(edge_keys(&g.modules), ["main -> a"]);
}

#[test]
fn the_binarys_cli_files_are_main() {
    let g = analyze(&[
        src("lib.rs", "pub mod a;\npub mod b;\n"),
        src("a.rs", "pub fn f() {}\n"),
        src("b.rs", "pub fn g() {}\n"),
        src("main.rs", "mod cli;\nuse cli::run;\nfn main() { run() }\n"),
        src("cli/mod.rs", "pub(crate) mod run;\nuse crate::main;\n"),
        src(
            "cli/run.rs",
            "use neirosynth::a::f;\nuse super::x;\npub(crate) fn run() { f() }\n",
        ),
    ]);
    assert_eq!(edge_keys(&g.modules), ["main -> a"]);
}

#[test]
fn the_allow_list_only_shrinks() {
    let doc = "## Layers\n\n| Layer | Modules | May use |\n|---|---|---|\n\
               | 0 | `low` | — |\n| 1 | `mid` | `low` |\n| 2 | `lib` | `low`, `mid` |\n";
    let tree = |low: &str| {
        vec![
            src("lib.rs", "pub mod low;\npub mod mid;\n"),
            src("low.rs", low),
            src("mid.rs", "pub struct M(crate::low::L);\n"),
        ]
    };
    let upward = tree("pub struct L;\nfn f(_: crate::mid::M) {}\n");
    let clean = tree("pub struct L;\n");
    let listed = "layer low -> mid # predates\nmodule-cycle low mid # predates\n\
                  file-cycle low.rs mid.rs # predates\n";
    // Listed: passes. Not listed: three new violations, with the line.
    assert_eq!(check_sources(&upward, doc, listed), Vec::<String>::new());
    let new = check_sources(&upward, doc, "");
    assert_eq!(new.len(), 3, "{new:#?}");
    assert!(new.iter().all(|p| p.starts_with("NEW violation")));
    assert!(new
        .iter()
        .any(|p| p.contains("src/low.rs:2: fn f(_: crate::mid::M) {}")));
    // Fixed but still listed: each line must go.
    let fixed = check_sources(&clean, doc, listed);
    assert_eq!(fixed.len(), 3, "{fixed:#?}");
    assert!(fixed
        .iter()
        .all(|p| p.starts_with("FIXED") && p.contains("remove this line, it is fixed")));
    // A line without a reason.
    let bare = check_sources(&clean, doc, "layer low -> mid\n");
    assert!(
        bare.iter().any(|p| p.contains("has no reason")),
        "{bare:#?}"
    );
}
