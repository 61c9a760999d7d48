// Migrations are embedded at compile time (refinery's embed_migrations!), so a
// new or edited SQL file must trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=sql/migrations");
}
