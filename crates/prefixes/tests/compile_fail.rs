//! A function writing to a prefix it may only read does not compile.
#[test]
fn write_to_read_only_prefix_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
