fn main() {
    let _ = weave::scorer_fn!(|input| async move { input });
    let _ = weave::model_fn!();
}
