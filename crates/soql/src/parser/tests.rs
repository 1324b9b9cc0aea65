//! Parser tests: accepted forms and the errors of rejected ones.

use super::*;

fn ok(q: &str) -> Query {
    parse(q).unwrap_or_else(|e| panic!("{q}: {}", e.render(q)))
}

fn err(q: &str) -> String {
    parse(q).expect_err(q).render(q)
}

#[test]
fn parses_the_full_grammar() {
    let q = ok(
        "select Id, Account.Owner.Name, (SELECT LastName FROM Contacts WHERE Email != null ORDER BY LastName LIMIT 5) FROM Account a WHERE (Name LIKE 'A%' OR Industry IN ('Tech', 'Energy')) AND NOT AnnualRevenue < 10.5 AND CreatedDate = LAST_N_DAYS:30 AND Id IN (SELECT AccountId FROM Contact) ORDER BY Name DESC NULLS LAST, Id LIMIT 10 OFFSET 5 FOR VIEW",
    );
    assert_eq!(q.select.len(), 3);
    assert_eq!(q.alias.as_ref().unwrap().name, "a");
    assert!(matches!(q.filter, Some(Cond::And(ref cs)) if cs.len() == 4));
    assert_eq!(
        (q.limit, q.offset, q.for_clause),
        (Some(10), Some(5), Some(ForClause::View))
    );
    let agg = ok(
        "SELECT Industry, COUNT(Id) total, MAX(AnnualRevenue) FROM Account GROUP BY Industry HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC",
    );
    assert!(matches!(
        agg.select[1],
        SelectItem::Agg {
            func: AggFunc::Count,
            alias: Some(_),
            ..
        }
    ));
    assert!(agg.having.is_some());
    assert!(matches!(
        ok("SELECT COUNT() FROM Lead").select[0],
        SelectItem::CountAll(_)
    ));
    ok(
        "SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = 2024 AND Tags__c INCLUDES ('a;b', 'c')",
    );
}

#[test]
fn syntax_errors_point_at_the_token() {
    assert!(
        err("SELECT Id FROM Account WHERE")
            .ends_with("ERROR at Row:1:Column:29\nunexpected token: <EOF>")
    );
    assert!(err("SELECT FROM Account").ends_with("unexpected token: 'FROM'"));
    assert!(
        err("SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3")
            .contains("unexpected token: 'OR'")
    );
    assert!(err("SELECT Id FROM Account LIMIT x").contains("unexpected token: 'x'"));
    assert!(err("SELECT Id FROM Account WHERE Name = :x").contains("bind variables"));
    assert!(err("SELECT TYPEOF What WHEN Account THEN Name END FROM Task").contains("TYPEOF"));
    assert!(err("SELECT FIELDS(ALL) FROM Account").contains("FIELDS"));
    assert!(err("SELECT Id FROM Account extra junk").contains("unexpected token: 'junk'"));
}
