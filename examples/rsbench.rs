use std::time::Instant;
use milvus_rbac::ops::{Request, Value};
use milvus_rbac::*;
fn main() {
    let opts = RegistryOptions { password_hash: Some(HashStrength::Fast), max_roles: Some(None), ..Default::default() };
    let reg = Registry::open(Location::Memory, &opts).unwrap();
    let root = reg.authenticate(&Credentials::parse("", "", "root:Milvus"), "").unwrap();
    let n = 1000;
    let rounds = 100;
    let mut total = 0.0;
    for round in 0..rounds {
        let reqs: Vec<Request> = (0..n).map(|i| Request::build("create_role", [("role_name", Value::Text(format!("x{round}_{i}")))]).unwrap()).collect();
        let drops: Vec<Request> = (0..n).map(|i| Request::build("drop_role", [("role_name", Value::Text(format!("x{round}_{i}")))]).unwrap()).collect();
        let t = Instant::now();
        for r in &reqs { reg.execute(&root, r).unwrap(); }
        total += t.elapsed().as_secs_f64();
        for r in &drops { reg.execute(&root, r).unwrap(); }
    }
    println!("create_role (<= {n} roles): {:.3} us", total * 1e6 / (n * rounds) as f64);
    let list = Request::build("list_roles", []).unwrap();
    let t = Instant::now();
    for _ in 0..200000 { reg.execute(&root, &list).unwrap(); }
    println!("list_roles: {:.3} us", t.elapsed().as_secs_f64() * 1e6 / 200000.0);
}
