// Migrations (refinery's embed_migrations!) and email templates
// (minijinja-embed) are compiled into the binary, so a new or edited file
// must trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=sql/migrations");
    println!("cargo:rerun-if-changed=templates");
    minijinja_embed::embed_templates!("templates", &[".html", ".txt"][..]);
}
