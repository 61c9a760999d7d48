//! The one HTML sanitizer for what senders write (`body_html`): used when a
//! notification is stored, when it is shown back, and when each email is
//! rendered, so that a row written by direct SQL carries no script either.
//!
//! Parsing HTML is not linear in the worst case: the HTML5 tree builder
//! walks the stack of open elements for most tags, so 200,000 nested `<div>`
//! cost ammonia 92 s of CPU. Before ammonia sees a document, [`check`] parses
//! it once with the same parser (html5ever, as ammonia calls it) into a tree
//! that only counts: it stops as soon as an element sits deeper than
//! [`MAX_DEPTH`] or the parser has done more than [`work_budget`] steps for
//! the input's size. What passes costs ammonia about what it cost the check.
//! Callers bound the size first (a cheap count) and run both off the async
//! workers (`blocking::Bounded`).

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{LazyLock, Mutex};

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{Attribute, LocalName, QualName, local_name, ns};
use sha2::{Digest, Sha256};

/// Deepest element nesting accepted (real email HTML nests tables a few
/// dozen deep at most).
pub const MAX_DEPTH: usize = 100;

/// Most attributes one tag, or one element, may carry. The tokenizer
/// compares each attribute of a tag with the ones before it, and the tree
/// builder each attribute that repeated `<html>` or `<body>` tags add to
/// their element with the ones it has: both cost the square of the count.
pub const MAX_ATTRIBUTES: usize = 100;

/// Steps the parser may take (calls into its tree), per character of
/// input, plus a floor for short inputs.
const STEPS_PER_CHAR: usize = 40;
const MIN_STEPS: usize = 100_000;

/// Characters fed to the parser between two looks at the counters.
const CHUNK_CHARS: usize = 512;

pub fn work_budget(chars: usize) -> usize {
    chars.saturating_mul(STEPS_PER_CHAR).max(MIN_STEPS)
}

/// Why a document was refused before sanitizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TooComplex {
    #[error("must not nest elements more than {MAX_DEPTH} deep")]
    TooDeep,
    #[error("must not give an element more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    #[error("is too complex to process (too many misnested or unclosed elements)")]
    TooMuchWork,
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    // Links and images leave the email: absolute web and mail addresses only
    // (no relative URL, no sms:, magnet:, data: …).
    b.url_schemes(["https", "http", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny);
    b
});

/// `html` with scripts, event handlers, styles that could hide content and
/// unlisted URL schemes removed; refused when [`check`] refuses it.
pub fn sanitize(html: &str) -> Result<String, TooComplex> {
    check(html)?;
    Ok(SANITIZER.clean(html).to_string())
}

/// Clean versions kept by content (a SHA-256): the worker renders the same
/// notification for each of its recipients, and cleaning 100,000 characters
/// 50,000 times would cost minutes of CPU.
const CACHED: usize = 16;
type Cache = HashMap<[u8; 32], Result<String, TooComplex>>;
static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Default::default);

pub fn sanitize_cached(html: &str) -> Result<String, TooComplex> {
    let key: [u8; 32] = Sha256::digest(html.as_bytes()).into();
    if let Some(clean) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return clean.clone();
    }
    let clean = sanitize(html);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CACHED {
        cache.clear();
    }
    cache.insert(key, clean.clone());
    clean
}

/// Parses `html` as ammonia does (a fragment in a `<div>`), and refuses it
/// as soon as it nests deeper than [`MAX_DEPTH`] or costs the parser more
/// than [`work_budget`] steps.
pub fn check(html: &str) -> Result<(), TooComplex> {
    // Before the tokenizer sees the tags: it would compare their attributes
    // pairwise.
    if !attributes_within_bounds(html) {
        return Err(TooComplex::TooManyAttributes);
    }
    let verdict = Rc::new(Cell::new(None));
    let sink = Counting {
        nodes: RefCell::new(Vec::new()),
        steps: Cell::new(0),
        budget: work_budget(html.chars().count()),
        verdict: verdict.clone(),
    };
    let mut parser = html5ever::parse_fragment(
        sink,
        html5ever::ParseOpts::default(),
        QualName::new(None, ns!(html), local_name!("div")),
        vec![],
        false,
    );
    let mut rest = html;
    while !rest.is_empty() {
        let end = rest
            .char_indices()
            .nth(CHUNK_CHARS)
            .map_or(rest.len(), |(i, _)| i);
        parser.process(StrTendril::from_slice(&rest[..end]));
        if let Some(refused) = verdict.get() {
            return Err(refused);
        }
        rest = &rest[end..];
    }
    parser.finish();
    match verdict.get() {
        Some(refused) => Err(refused),
        None => Ok(()),
    }
}

/// Whether no tag of `html` carries more than [`MAX_ATTRIBUTES`]
/// attributes, counted the way the HTML tokenizer splits a tag (names end at
/// whitespace, `/`, `=` or `>`; quoted values may hold anything). It reads
/// more tags than the tokenizer does (text that looks like a tag inside
/// `<textarea>` or a comment), never fewer: it refuses too much rather than
/// too little.
fn attributes_within_bounds(html: &str) -> bool {
    let b = html.as_bytes();
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    let mut i = 0;
    while i < b.len() {
        let opens = b[i] == b'<'
            && (b.get(i + 1).is_some_and(u8::is_ascii_alphabetic)
                || (b.get(i + 1) == Some(&b'/')
                    && b.get(i + 2).is_some_and(u8::is_ascii_alphabetic)));
        if !opens {
            i += 1;
            continue;
        }
        // `<` or `</`, then the tag's name.
        i += if b[i + 1] == b'/' { 2 } else { 1 };
        while i < b.len() && !space(b[i]) && !matches!(b[i], b'>' | b'/') {
            i += 1;
        }
        let mut count = 0;
        loop {
            while i < b.len() && (space(b[i]) || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                break;
            }
            // An attribute's name (its first character may be anything).
            i += 1;
            while i < b.len() && !space(b[i]) && !matches!(b[i], b'>' | b'/' | b'=') {
                i += 1;
            }
            count += 1;
            if count > MAX_ATTRIBUTES {
                return false;
            }
            while i < b.len() && space(b[i]) {
                i += 1;
            }
            if b.get(i) == Some(&b'=') {
                i += 1;
                while i < b.len() && space(b[i]) {
                    i += 1;
                }
                match b.get(i) {
                    Some(&q) if q == b'"' || q == b'\'' => {
                        i += 1;
                        while i < b.len() && b[i] != q {
                            i += 1;
                        }
                        i += 1;
                    }
                    _ => {
                        while i < b.len() && !space(b[i]) && b[i] != b'>' {
                            i += 1;
                        }
                    }
                }
            }
        }
    }
    true
}

/// A node of the counting tree: its name (elements) and its links.
struct Node {
    name: QualName,
    /// Attributes it carries, those added by later `<html>` or `<body>`
    /// tags included.
    attributes: usize,
    parent: Option<usize>,
    first_child: Option<usize>,
    last_child: Option<usize>,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A tree sink that keeps only the shape of the document, counts the
/// parser's calls, and records the first reason to stop (the parser runs to
/// the end of its chunk, at most [`CHUNK_CHARS`] more).
struct Counting {
    nodes: RefCell<Vec<Node>>,
    steps: Cell<usize>,
    budget: usize,
    verdict: Rc<Cell<Option<TooComplex>>>,
}

const DOCUMENT: usize = 0;

impl Counting {
    fn step(&self) {
        let steps = self.steps.get() + 1;
        self.steps.set(steps);
        if steps > self.budget && self.verdict.get().is_none() {
            self.verdict.set(Some(TooComplex::TooMuchWork));
        }
    }

    /// `n` more attributes on `node`: as many steps as the parser's
    /// comparison with those it has, and refused past [`MAX_ATTRIBUTES`].
    fn add_attributes(&self, node: usize, n: usize) {
        if n == 0 {
            return;
        }
        let total = {
            let mut nodes = self.nodes.borrow_mut();
            let node = &mut nodes[node];
            node.attributes += n;
            node.attributes
        };
        self.steps.set(self.steps.get() + total);
        if total > MAX_ATTRIBUTES && self.verdict.get().is_none() {
            self.verdict.set(Some(TooComplex::TooManyAttributes));
        }
    }

    fn stopped(&self) -> bool {
        self.verdict.get().is_some()
    }

    fn new_node(&self, name: QualName) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        if nodes.is_empty() {
            nodes.push(Node::new(QualName::new(None, ns!(), LocalName::from(""))));
        }
        nodes.push(Node::new(name));
        nodes.len() - 1
    }

    fn detach(&self, child: usize) {
        let mut nodes = self.nodes.borrow_mut();
        let Some(parent) = nodes[child].parent else {
            return;
        };
        let (prev, next) = (nodes[child].prev, nodes[child].next);
        match prev {
            Some(p) => nodes[p].next = next,
            None => nodes[parent].first_child = next,
        }
        match next {
            Some(n) => nodes[n].prev = prev,
            None => nodes[parent].last_child = prev,
        }
        let node = &mut nodes[child];
        (node.parent, node.prev, node.next) = (None, None, None);
    }

    /// Links `child` under `parent`, before `before` (or last).
    fn attach(&self, parent: usize, child: usize, before: Option<usize>) {
        if parent == child {
            return;
        }
        self.detach(child);
        let mut nodes = self.nodes.borrow_mut();
        let prev = match before {
            Some(b) => nodes[b].prev,
            None => nodes[parent].last_child,
        };
        nodes[child].parent = Some(parent);
        nodes[child].prev = prev;
        nodes[child].next = before;
        match prev {
            Some(p) => nodes[p].next = Some(child),
            None => nodes[parent].first_child = Some(child),
        }
        match before {
            Some(b) => nodes[b].prev = Some(child),
            None => nodes[parent].last_child = Some(child),
        }
        // The new depth of `child`: counted up to the limit, no further.
        if self.stopped() {
            return;
        }
        let mut depth = 1;
        let mut at = parent;
        while let Some(up) = nodes[at].parent {
            depth += 1;
            if depth > MAX_DEPTH {
                drop(nodes);
                self.verdict.set(Some(TooComplex::TooDeep));
                return;
            }
            at = up;
        }
    }
}

impl Node {
    fn new(name: QualName) -> Self {
        Self {
            name,
            attributes: 0,
            parent: None,
            first_child: None,
            last_child: None,
            prev: None,
            next: None,
        }
    }
}

impl TreeSink for Counting {
    type Handle = usize;
    type Output = ();
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) {}

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        if nodes.is_empty() {
            nodes.push(Node::new(QualName::new(None, ns!(), LocalName::from(""))));
        }
        DOCUMENT
    }

    fn elem_name<'a>(&'a self, target: &'a usize) -> Ref<'a, QualName> {
        self.step();
        Ref::map(self.nodes.borrow(), |nodes| &nodes[*target].name)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, _: ElementFlags) -> usize {
        self.step();
        let node = self.new_node(name);
        self.add_attributes(node, attrs.len());
        node
    }

    fn create_comment(&self, _text: StrTendril) -> usize {
        self.step();
        self.new_node(QualName::new(None, ns!(), LocalName::from("")))
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.step();
        self.new_node(QualName::new(None, ns!(), LocalName::from("")))
    }

    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        self.step();
        if let NodeOrText::AppendNode(child) = child {
            self.attach(*parent, child, None);
        }
    }

    fn append_based_on_parent_node(
        &self,
        element: &usize,
        prev_element: &usize,
        child: NodeOrText<usize>,
    ) {
        self.step();
        let parent = self.nodes.borrow()[*element].parent;
        match parent {
            Some(_) => self.append_before_sibling(element, child),
            None => self.append(prev_element, child),
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {
        self.step();
    }

    fn get_template_contents(&self, target: &usize) -> usize {
        // The contents of a template are a fragment of their own; the
        // template element stands for it (its depth counts the same).
        self.step();
        *target
    }

    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &usize, new_node: NodeOrText<usize>) {
        self.step();
        let parent = self.nodes.borrow()[*sibling].parent;
        if let (Some(parent), NodeOrText::AppendNode(child)) = (parent, new_node) {
            self.attach(parent, child, Some(*sibling));
        }
    }

    fn add_attrs_if_missing(&self, target: &usize, attrs: Vec<Attribute>) {
        self.step();
        self.add_attributes(*target, attrs.len());
    }

    fn remove_from_parent(&self, target: &usize) {
        self.step();
        self.detach(*target);
    }

    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        let mut child = self.nodes.borrow()[*node].first_child;
        while let Some(c) = child {
            self.step();
            child = self.nodes.borrow()[c].next;
            self.attach(*new_parent, c, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_odd_schemes_go() {
        let dirty = r#"<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(1)">a</a> <a href="sms:+1">b</a> <a href="/relative">c</a> <a href="https://ok.test/">d</a> <img src="data:image/png;base64,AA"></p>"#;
        let clean = sanitize(dirty).expect("simple");
        for gone in [
            "script",
            "onclick",
            "javascript:",
            "sms:",
            "/relative",
            "data:",
        ] {
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
        assert!(clean.contains(r#"href="https://ok.test/""#), "{clean}");
        assert_eq!(sanitize_cached(dirty).as_ref(), Ok(&clean));
        assert_eq!(sanitize_cached(dirty).as_ref(), Ok(&clean));
    }

    fn nested(tag: &str, n: usize) -> String {
        format!(
            "{}x{}",
            format!("<{tag}>").repeat(n),
            format!("</{tag}>").repeat(n)
        )
    }

    #[test]
    fn nesting_is_bounded_as_the_parser_sees_it() {
        // The context <div> is the root: MAX_DEPTH elements fit under it.
        assert_eq!(check(&nested("div", MAX_DEPTH - 1)), Ok(()));
        assert_eq!(check(&nested("div", MAX_DEPTH)), Err(TooComplex::TooDeep));
        assert_eq!(sanitize(&"<div>".repeat(150_000)), Err(TooComplex::TooDeep));
        // Elements whose end tags may be left out do not pile up …
        assert_eq!(check(&"<p>para".repeat(5_000)), Ok(()));
        assert_eq!(check(&"<li>item".repeat(5_000)), Ok(()));
        // … while unclosed ones do, and so do formatting elements the parser
        // reopens (the "active formatting elements") …
        assert_eq!(check(&"<span>".repeat(500)), Err(TooComplex::TooDeep));
        let reopened: String = (0..500).map(|i| format!("<p><b id={i}></p>")).collect();
        assert_eq!(check(&(reopened + "text")), Err(TooComplex::TooDeep));
        // … and a closing tag hidden where the parser sees text closes nothing.
        let hidden = format!(
            "{}<textarea>{}</textarea>",
            "<div>".repeat(60),
            "</div>".repeat(60)
        );
        assert_eq!(
            check(&(hidden.clone() + &"<div>".repeat(60))),
            Err(TooComplex::TooDeep)
        );
        assert_eq!(check(&hidden), Ok(()));
    }

    #[test]
    fn attributes_are_bounded_per_tag_and_per_element() {
        let attrs = |n: usize| {
            (0..n)
                .map(|i| format!(" a{i}=\"x > y\""))
                .collect::<String>()
        };
        assert_eq!(
            check(&format!("<div{}>x</div>", attrs(MAX_ATTRIBUTES))),
            Ok(())
        );
        for tag in [
            format!("<div{}>", attrs(MAX_ATTRIBUTES + 1)),
            format!("</div{}>", attrs(MAX_ATTRIBUTES + 1)),
            // Quoted `>` does not end the tag; bare names count too.
            format!("<img src=\"a>b\"{}>", " x".repeat(MAX_ATTRIBUTES)),
        ] {
            assert_eq!(
                check(&tag),
                Err(TooComplex::TooManyAttributes),
                "{:.40}",
                tag
            );
        }
        // `<html>` tags repeated, each with a new attribute: the parser
        // gathers them on one element (10,095 of them cost ammonia 1.6 s).
        let gathered: String = (0..10_095).map(|i| format!("<html b{i}>")).collect();
        assert_eq!(check(&gathered), Err(TooComplex::TooManyAttributes));
        assert_eq!(
            sanitize(&(0..50).map(|i| format!("<body c{i}>")).collect::<String>()).map(|_| ()),
            Ok(())
        );
        // Text that only looks like a tag is not a tag.
        assert_eq!(check(&format!("a < b{}", " c".repeat(500))), Ok(()));
    }

    #[test]
    fn ordinary_email_html_passes_unchanged_in_meaning() {
        let email = format!(
            "<table><tr><td><h1>News</h1>{}</td></tr></table>",
            "<p>Hello <b>there</b>, <a href=\"https://example.com\">read</a> &amp; reply.</p>"
                .repeat(1_000)
        );
        assert!(email.chars().count() < 100_000);
        let clean = sanitize(&email).expect("ordinary html");
        assert!(clean.starts_with("<table><tbody><tr><td><h1>News</h1><p>Hello <b>there</b>"));
    }
}
