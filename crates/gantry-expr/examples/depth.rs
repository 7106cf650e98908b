//! temp
fn main() {
    let arg = std::env::args().nth(1).unwrap_or_default();
    let n: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let source = match arg.as_str() {
        "paren" => format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        "neg" => format!("{}1", "-".repeat(n)),
        "arr" => format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        "not" => format!("{}true", "!".repeat(n)),
        _ => "a.".repeat(n) + "b",
    };
    let r = std::thread::Builder::new().stack_size(2 << 20).spawn(move || {
        gantry_expr::Expression::compile(&source).map(|_| ()).map_err(|e| e.message)
    }).unwrap().join();
    println!("{arg}: {r:?}");
}
