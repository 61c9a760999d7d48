//! What sanitizing a sender's `body_html` costs at the bounds the API keeps
//! (100,000 characters, elements nested at most 100 deep, 100 attributes
//! per tag and per element), for the inputs that make an HTML5 parser work
//! hardest: deep nesting, misnested and reopened formatting elements,
//! foster-parented tables, thousands of attributes on a tag or gathered on
//! `<html>` by repeated tags (which cost ammonia 1.6 s before that bound). Before the bounds, 200,000 nested `<div>` cost ammonia 92 s.
//! Run with `cargo bench --bench html_sanitize`; prints, does not assert.

use std::time::{Duration, Instant};

use vectra::email::html;

/// `unit` repeated to about `n` characters.
fn fill(unit: &str, n: usize) -> String {
    unit.repeat(n / unit.chars().count())
}

/// The fastest of a few runs (the machine is shared).
fn best<T>(f: impl Fn() -> T) -> (Duration, T) {
    let mut best = None;
    let mut out = None;
    for _ in 0..5 {
        let t = Instant::now();
        let r = f();
        let took = t.elapsed();
        if best.is_none_or(|b| took < b) {
            best = Some(took);
        }
        out = Some(r);
    }
    (best.unwrap_or_default(), out.expect("ran"))
}

/// Short distinct names: 0, 1 … z, 10 …
fn base36(mut i: usize) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![digits[i % 36]];
    while i >= 36 {
        i /= 36;
        out.push(digits[i % 36]);
    }
    String::from_utf8(out).unwrap_or_default()
}

fn main() {
    let n = 100_000;
    let nested99 = format!("{}x{}", "<div>".repeat(99), "</div>".repeat(99));
    let formatting = format!(
        "{}x</p>",
        "<b><i><u><s><em><strong><font><big><small><tt>".repeat(5)
    );
    let attributes = format!(
        "<div {}>",
        (0..n / 10).map(|i| format!("a{i}=1 ")).collect::<String>()
    );
    let hundred = format!(
        "<div {}>x</div>",
        (0..100)
            .map(|i| format!("a{i}=1"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let cases: Vec<(&str, String)> = vec![
        (
            "200,000 nested <div> (refused by size)",
            "<div>".repeat(200_000),
        ),
        ("99 nested <div>, repeated", fill(&nested99, n)),
        ("unclosed <p>", fill("<p>para", n)),
        ("misnested <b><i></b></i>", fill("<b><i></b></i>", n)),
        ("nested <a> (adoption agency)", fill("<a>x", n)),
        (
            "text in a table (foster parenting)",
            format!("<table>{}", fill("x<td>", n - 10)),
        ),
        ("nested tables", fill("<table><tr><td>", n)),
        (
            "reopened formatting elements",
            fill("<b id=1><i id=2><u id=3></b>x", n),
        ),
        ("10,000 attributes on one element", attributes),
        (
            "10,095 <html> tags, a new attribute each",
            (0..10_095)
                .map(|i| format!("<html {}>", base36(i)))
                .collect(),
        ),
        ("100 attributes per <div>, repeated", fill(&hundred, n)),
        ("<select><option>", fill("<select><option>x", n)),
        ("50 formatting elements per paragraph", fill(&formatting, n)),
        ("<a><p><b><div><a>", fill("<a><p><b><div><a>x", n)),
        ("svg foreignObject", fill("<svg><foreignObject><div>", n)),
        ("templates", fill("<template><div>", n)),
        ("comments", fill("<!--x--><div></div>", n)),
        ("plain text", fill("hello world ", n)),
        ("nested lists", fill("<li>x<ul>", n)),
        ("<nobr>", fill("<nobr>x", n)),
        ("<button><p>", fill("<button><p>x", n)),
    ];
    println!(
        "{:<42} {:>8}  {:>10}  {:>10}  verdict",
        "input", "chars", "check", "sanitize"
    );
    for (name, input) in cases {
        let chars = input.chars().count();
        // The API refuses more than 100,000 characters before parsing.
        if chars > 100_000 {
            println!(
                "{name:<42} {chars:>8}  {:>10}  {:>10}  refused by size",
                "-", "-"
            );
            continue;
        }
        let (check, verdict) = best(|| html::check(&input));
        let (sanitize, _) = best(|| html::sanitize(&input));
        println!(
            "{name:<42} {chars:>8}  {:>10.2?}  {:>10.2?}  {}",
            check,
            sanitize,
            match verdict {
                Ok(()) => "accepted".to_owned(),
                Err(e) => format!("refused: {e}"),
            }
        );
    }
}
