use super::*;
use proptest::prelude::*;

fn packed(f: &Fields) -> Fields {
    let mut p = f.clone();
    p.pack();
    let nested = f.values().any(|v| matches!(v, FieldRef::Json(_)));
    assert_eq!(matches!(p.0, Repr::Packed(_)), !nested);
    p
}

#[test]
fn keeps_the_order_set_and_finds_by_name_past_the_index_threshold() {
    let mut f = Fields::new();
    let names: Vec<String> = (0..40).rev().map(|i| format!("F{i:02}")).collect();
    for (i, n) in names.iter().enumerate() {
        assert_eq!(f.insert(n.clone(), Value::from(i)), None);
    }
    assert_eq!(
        f.keys().collect::<Vec<_>>(),
        names.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let p = packed(&f);
    assert_eq!(p.keys().collect::<Vec<_>>(), f.keys().collect::<Vec<_>>());
    for (i, n) in names.iter().enumerate() {
        assert_eq!(f.get(n), Some(FieldRef::U64(i as u64)), "{n}");
        assert_eq!(p.get(n), Some(FieldRef::U64(i as u64)), "{n}");
    }
    assert_eq!(f.insert("F10".into(), Value::Null), Some(Value::from(29)));
    assert_eq!(f.remove("F39"), Some(Value::from(0)));
    assert!(f.get("F39").is_none() && f.get("F38").is_some());
    f.retain(|n, _| n < "F20");
    assert_eq!(f.len(), 20);
    assert!(f.get("F05").is_some() && f.get("F25").is_none());
}

#[test]
fn names_are_shared_between_maps_and_shapes_between_packed_ones() {
    let a: Fields = [("Name".to_owned(), Value::from("a"))]
        .into_iter()
        .collect();
    let b: Fields = [("Name".to_owned(), Value::from("b"))]
        .into_iter()
        .collect();
    let (Repr::Open(oa), Repr::Open(ob)) = (&a.0, &b.0) else {
        panic!("built maps are open");
    };
    assert!(Arc::ptr_eq(&oa.entries[0].0, &ob.entries[0].0));
    let (Repr::Packed(pa), Repr::Packed(pb)) = (packed(&a).0, packed(&b).0) else {
        unreachable!()
    };
    assert!(Arc::ptr_eq(&pa.shape, &pb.shape));
}

#[test]
fn round_trips_through_json_open_and_packed() {
    let json = r#"{"Name":"Acme","Amount":12.5,"Flag":true,"Gone":null,"Neg":-7,"Big":18446744073709551615,"Tiny":5e-324}"#;
    let f: Fields = serde_json::from_str(json).unwrap();
    assert_eq!(serde_json::to_string(&f).unwrap(), json);
    assert_eq!(f.get("Gone"), Some(FieldRef::Null));
    let p = packed(&f);
    assert_eq!(serde_json::to_string(&p).unwrap(), json);
    assert_eq!(p, f);
    assert_eq!(p.get("Neg").unwrap().as_i64(), Some(-7));
    assert_eq!(p.get("Amount").unwrap().as_f64(), Some(12.5));
    assert_eq!(p.get("Name").unwrap().as_str(), Some("Acme"));
}

#[test]
fn a_map_holding_an_array_or_object_stays_open_and_exact() {
    // A float whose JSON text `serde_json` reads back a unit off.
    let nested = Value::from(vec![510_223.845_837_201_17_f64]);
    let mut f = Fields::new();
    f.set("Name", Value::from("x"));
    f.set("F", nested.clone());
    let p = packed(&f);
    assert_eq!(p.get("F").unwrap().to_value(), nested);
    assert_eq!(p, f);
}

#[test]
fn a_change_opens_a_packed_map() {
    let mut p = packed(&Fields::from(
        serde_json::json!({"A": 1, "B": "x"})
            .as_object()
            .unwrap()
            .clone(),
    ));
    assert_eq!(p.set("B", Value::from("y")), Some(Value::from("x")));
    *p.get_mut("A").unwrap() = Value::from(2);
    assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"A":2,"B":"y"}"#);
    assert_eq!(p.remove("Z"), None);
}

/// Values of every kind JSON has, text of any length included.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,300}".prop_map(Value::from),
        // Text several fields hold (packed once).
        prop_oneof![
            Just("2026-11-25T02:17:08.000+0000"),
            Just("0055f000000AbCdAAK")
        ]
        .prop_map(Value::from),
        proptest::collection::vec(any::<i32>(), 0..4).prop_map(Value::from),
    ]
}

proptest! {
    /// Against a `serde_json::Map` (an insertion-ordered map): the same answers to every
    /// operation, in the same order, open or packed at any point.
    #[test]
    fn behaves_as_an_ordered_map(ops in proptest::collection::vec((0u8..4, 0u8..40, value()), 0..200)) {
        let mut model: Map<String, Value> = Map::new();
        let mut f = Fields::new();
        for (op, name, v) in ops {
            let name = format!("N{name}");
            match op {
                0 | 1 => {
                    let had = model.get(&name).cloned();
                    if had.is_some() {
                        *model.get_mut(&name).unwrap() = v.clone();
                    } else {
                        model.insert(name.clone(), v.clone());
                    }
                    prop_assert_eq!(f.insert(name, v), had);
                }
                2 => prop_assert_eq!(f.remove(&name), model.shift_remove(&name)),
                _ => f.pack(),
            }
            prop_assert_eq!(f.len(), model.len());
            prop_assert!(f.iter().map(|(k, v)| (k.to_owned(), v.to_value()))
                .eq(model.iter().map(|(k, v)| (k.clone(), v.clone()))));
            for k in model.keys() {
                let got = f.get(k).map(FieldRef::to_value);
                prop_assert_eq!(got.as_ref(), model.get(k));
            }
            prop_assert_eq!(serde_json::to_string(&f).unwrap(), serde_json::to_string(&model).unwrap());
        }
    }
}

#[test]
fn text_held_twice_is_packed_once() {
    let stamp = "2026-11-25T02:17:08.000+0000";
    let mut f = Fields::new();
    for name in [
        "CreatedDate",
        "Short",
        "LastModifiedDate",
        "Again",
        "SystemModstamp",
    ] {
        let v = if name.len() == 5 { "abc" } else { stamp };
        f.set(name, Value::from(v));
    }
    let once = {
        let mut g = Fields::new();
        g.set("CreatedDate", Value::from(stamp));
        packed(&g)
    };
    let p = packed(&f);
    let (Repr::Packed(pp), Repr::Packed(po)) = (&p.0, &once.0) else {
        unreachable!()
    };
    // The stamp's bytes once, each later one a tag and an offset; short text kept again.
    assert!(
        pp.data.len() < po.data.len() + 2 * 4 + 2 * 5,
        "{}",
        pp.data.len()
    );
    assert_eq!(p.get("SystemModstamp"), Some(FieldRef::Str(stamp)));
    assert_eq!(p.get("Again"), Some(FieldRef::Str("abc")));
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        serde_json::to_string(&f).unwrap()
    );
}
