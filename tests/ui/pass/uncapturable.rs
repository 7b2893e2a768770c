//! Values with neither `Serialize` nor `Debug` need no bound: they are captured by
//! their type name.

use weave::op;

struct Connection {
    _fd: i32,
}

#[op]
fn open(fd: i32) -> Connection {
    Connection { _fd: fd }
}

#[op]
fn use_it(conn: &Connection, again: Connection) -> (Connection, usize) {
    let _ = conn;
    (again, 1)
}

fn main() {
    let a = open(1);
    let b = open(2);
    let (_c, n) = use_it(&a, b);
    assert_eq!(n, 1);
}
