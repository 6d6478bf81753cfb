"""Query -> matched hosts, the same tables on SQLite and PostgreSQL (SEARCH-LANGUAGE.md 3-4)."""

from __future__ import annotations

import pytest

from rex.host_search import host_fields
from tests.search.hosts import ALL, but, matching, seed

WEB01, WEB02, DB01, DB02 = (
    "web01.example.com",
    "web02.example.com",
    "db01.example.com",
    "db02.example.org",
)
WEBSRV, MAIL = "Web_Server.lab", "mail.example.com"

RULES: dict[str, list[tuple[str, set[str]]]] = {
    "text_equals_is_exact_and_case_sensitive": [
        ("name = web01.example.com", {WEB01}),
        ("name == web01.example.com", {WEB01}),
        ("name = WEB01.example.com", set()),
        ("os = RedHat", {WEB01, DB02}),
        ("os at RedHat", {WEB01, DB02}),
        ('comment = ""', {DB02}),
        ('comment = "web server"', {WEB02}),
        ("comment = 'web server'", {WEB02}),
        ("os != RedHat", {WEB02, WEBSRV, MAIL}),
        ("os <> RedHat", {WEB02, WEBSRV, MAIL}),
        ("os!=RedHat", {WEB02, WEBSRV, MAIL}),
        ("location = Europe/London", {WEB01}),
        ("organization = ACME", {WEB01, WEB02}),
        ("hostgroup = base/web", {WEBSRV}),
        ("domain = example.org", {DB02}),
        ("ip = 10.0.0.1", {WEB01}),
    ],
    "like_is_case_insensitive_substring_unless_wildcards_anchor_it": [
        ("name ~ WEB", {WEB01, WEB02, WEBSRV}),
        ("name ~ web*", {WEB01, WEB02, WEBSRV}),
        ("name ~ *.org", {DB02}),
        ("name ~ *example*", {WEB01, WEB02, DB01, DB02, MAIL}),
        ("name ~ db*example.com", {DB01}),
        ("name ~ db**%example.com", {DB01}),
        ("name ~ example.c", {WEB01, WEB02, DB01, MAIL}),
        ("comment ~ 50%", {MAIL}),
        ('comment ~ "web server"', {WEB01, WEB02}),
        ("comment ~ don't", {WEBSRV}),
        ('comment ~ "DON\'T"', {WEBSRV}),
        ("comment ~ C:\\temp", {WEBSRV}),
        ('comment ~ "c:\\\\TEMP"', {WEBSRV}),
        ('comment ~ "c:\\\\\\\\temp"', set()),
        ('comment ~ ""', {WEB01, WEB02, DB02, WEBSRV, MAIL}),
        ("comment !~ web", {DB02, WEBSRV, MAIL}),
        ("name !~ example", {WEBSRV}),
        ("name!~example", {WEBSRV}),
    ],
    "underscore_in_a_like_value_matches_any_one_character": [
        ("name ~ web_server", {WEBSRV}),
        ("comment ~ web_server", {WEB01, WEB02}),
    ],
    "not_keeps_null_rows_while_negative_operators_drop_them": [
        ("not os = RedHat", {WEB02, DB01, WEBSRV, MAIL}),
        ("os != RedHat", {WEB02, WEBSRV, MAIL}),
        ("os !^ (RedHat)", {WEB02, WEBSRV, MAIL}),
        ("not os ^ (RedHat)", {WEB02, DB01, WEBSRV, MAIL}),
        ("! os = RedHat", {WEB02, DB01, WEBSRV, MAIL}),
        ("- os = RedHat", {WEB02, DB01, WEBSRV, MAIL}),
        ("not not os = RedHat", {WEB01, DB02}),
        ("not comment ~ web", {DB01, DB02, WEBSRV, MAIL}),
        ("not (os = RedHat or os = Ubuntu)", {DB01, WEBSRV}),
        ("!(os = RedHat or hostgroup = web)", {DB01, WEBSRV, MAIL}),
    ],
    "free_text_searches_name_comment_hostgroup_os_domain_and_ip": [
        ("web", {WEB01, WEB02, WEBSRV}),
        ("WEB", {WEB01, WEB02, WEBSRV}),
        ("example.org", {DB02}),
        ("10.0.1", {DB01}),
        ("ubuntu", {WEB02, MAIL}),
        ("lab", {WEBSRV}),
        ('"web server"', {WEB01, WEB02}),
        ("web* db*", set()),
        ("web example", {WEB01, WEB02}),
        ("= RedHat", {WEB01, DB02}),
        ("~ redhat", {WEB01, DB02}),
        ("!= web", ALL),  # an OR of `field != web` over the default fields
        ("^ (Ubuntu, db)", {WEB02, MAIL, DB01}),
        ("^ ()", set()),
        ("!^ ()", ALL),
    ],
    "free_text_never_searches_location_organization_facts_or_params": [
        ("ACME", set()),
        ("Europe", set()),
        ("Debian", {WEBSRV}),  # the OS of Web_Server, not the osfamily fact of the others
        ("prod", set()),
        ("staging", set()),
        ("2025-06-18", set()),
    ],
    "minus_word_is_the_exact_complement_of_word": [
        ("-web", {DB01, DB02, MAIL}),
        ("not web", {DB01, DB02, MAIL}),
        ("-example", {WEBSRV}),
        ("- - web", {WEB01, WEB02, WEBSRV}),
    ],
    "and_or_share_one_level_and_group_to_the_right": [
        ("os = RedHat and name ~ web or os = Ubuntu", {WEB01}),
        ("os = Ubuntu or os = RedHat and name ~ web", {WEB01, WEB02, MAIL}),
        ("os = Ubuntu or os = RedHat name ~ db", {DB02}),
        ("(os = RedHat and name ~ web) or os = Ubuntu", {WEB01, WEB02, MAIL}),
        ("name ~ web, os = Ubuntu", {WEB02}),
        ("name ~ web os = Ubuntu", {WEB02}),
        ("os = RedHat | os = Ubuntu", {WEB01, DB02, WEB02, MAIL}),
        ("os = RedHat || os = Ubuntu", {WEB01, DB02, WEB02, MAIL}),
        ("os = RedHat && name ~ db", {DB02}),
        ("os = RedHat & name ~ db", {DB02}),
        ("not os = RedHat and name ~ web", {WEB02, WEBSRV}),
    ],
    "in_and_not_in_take_lists_and_an_empty_list_matches_nothing": [
        ("name ^ (web01.example.com, db01.example.com)", {WEB01, DB01}),
        ("name ^ (web01.example.com db01.example.com)", {WEB01, DB01}),
        ("name ^ web01.example.com", {WEB01}),
        ("name ^ (\"web01.example.com\", 'db01.example.com')", {WEB01, DB01}),
        ("name ^ ()", set()),
        ("name ^ () or os = Ubuntu", {WEB02, MAIL}),
        ("os = Ubuntu or name ^ ()", {WEB02, MAIL}),
        ("name !^ ()", ALL),
        ("not name ^ ()", ALL),
        ("hostgroup !^ (web, db)", {WEBSRV}),
        ("hostgroup ^ (web, db)", {WEB01, WEB02, DB01}),
        ('comment ^ ("50% done", "")', {MAIL, DB02}),
    ],
    "set_null_and_has_test_for_a_value": [
        ("set? os", but(DB01)),
        ("has os", but(DB01)),
        ("null? os", {DB01}),
        ("has comment", but(DB01)),
        ("null? hostgroup", {DB02, MAIL}),
        ("not set? os", {DB01}),
        ("set? ip", but(DB02)),
        ("set? created_at", ALL),
        ("null? id", set()),
    ],
    "integer_fields_compare_numbers": [
        ("id = 1", {WEB01}),
        ("id > 4", {WEBSRV, MAIL}),
        ("id >= 5", {WEBSRV, MAIL}),
        ("id < 2", {WEB01}),
        ("id <= 2", {WEB01, WEB02}),
        ("id != 1", but(WEB01)),
        ("id ^ (1, 3)", {WEB01, DB01}),
        ("id !^ (1 2 3 4)", {WEBSRV, MAIL}),
        ('id = "-5"', set()),
        ("id > 10", set()),
    ],
    "dates_compare_at_the_precision_of_the_value": [
        ('created_at > "2 days ago"', {WEB02, WEBSRV, MAIL}),
        ('created_at > "2 DAYS AGO"', {WEB02, WEBSRV, MAIL}),
        ('created_at < "2 days ago"', {DB01, DB02}),
        ('created_at >= "2 days ago"', {WEB01, WEB02, WEBSRV, MAIL}),
        ('created_at = "2 days ago"', {WEB01}),
        ("created_at > today", set()),
        ("created_at = today", {WEBSRV, MAIL}),
        ("created_at <= today", ALL),
        ("created_at < today", {WEB01, WEB02, DB01, DB02}),
        ("created_at = yesterday", {WEB02}),
        ("created_at < tomorrow", ALL),
        ('created_at > "3 hours ago"', {WEBSRV}),
        ('created_at > "61 minutes ago"', {WEBSRV}),
        ('created_at > "59 minutes ago"', set()),
        ('created_at > "1 week ago"', {WEB01, WEB02, WEBSRV, MAIL}),
        ('created_at < "1 year ago"', {DB01, DB02}),
        ('created_at > "2 months from now"', set()),
        ('created_at = "2024-01-15 09:30"', {DB01}),
        ('created_at = "2024-01-15 09:30:00"', {DB01}),
        ('created_at = "2024-01-15 09:31"', set()),
        ("created_at = 2024-01-15T10:30:00+01:00", {DB01}),
        ("created_at = 2024-01-15T09:30:00Z", {DB01}),
        ("created_at = 2024-01-15", {DB01}),
        ("created_at = 2024/01/15", {DB01}),
        ("created_at = 24-01-15", {DB01}),
        ('created_at = "Jan 15, 2024"', {DB01}),
        ('created_at at "January 2024"', {DB01}),
        ("created_at <= 2023-11-30", {DB02}),
        ("created_at < 2023-11-30", set()),
        ('created_at <= "2023-11-30 23:59"', set()),
        ("created_at >= 2025-06-18", {WEBSRV, MAIL}),
        ("created_at before 2024-01-01", {DB02}),
        ("created_at after 2025-06-17", {WEBSRV, MAIL}),
        ('created_at > "2025-06-18 00:00"', {WEBSRV}),
        ("created_at != 2025-06-18", {WEB01, WEB02, DB01, DB02}),
        ("not created_at = 2025-06-18", {WEB01, WEB02, DB01, DB02}),
        ("updated_at = today", {WEBSRV, MAIL}),
    ],
    "facts_compare_integers_numerically_only_against_digits": [
        ("facts.cpus > 4", {WEB01}),
        ("facts.cpus = 4", {WEB02}),
        ("facts.cpus = 16", {WEB01}),
        ("facts.cpus != 4", {WEB01}),
        ("facts.cpus < 100", {WEB01, WEB02}),
        ("facts.cpus >= 4", {WEB01, WEB02}),
        ('facts.cpus = "-3"', set()),
        ("facts.cpus = 4.0", {DB01}),
        ("facts.cpus ~ 4", {WEB02, DB01, DB02}),
        ("facts.cpus !~ 4", {WEB01, WEBSRV, MAIL}),
        ("facts.cpus ^ (4, abc)", {WEB02, MAIL}),
        ("facts.cpus ^ (4 16)", {WEB01, WEB02}),
        ("facts.cpus !^ (4, 16)", set()),
        ("facts.cpus !^ (abc, 4.0)", {WEB01, WEB02, DB02, WEBSRV}),
        ("facts.cpus ^ ()", set()),
        ("facts.cpus !^ ()", ALL),
    ],
    "facts_compare_other_values_as_text_and_need_the_fact": [
        ("facts.osfamily = Debian", {WEB02, DB01, WEBSRV}),
        ("facts.osfamily = debian", set()),
        ("facts.osfamily ~ deb", {WEB02, DB01, WEBSRV}),
        ("facts.os::release::major = 9", {WEB01}),
        ("facts.nope != x", set()),
        ("facts.nope !~ x", set()),
        ("facts.osfamily != Debian", {WEB01}),
        ("not facts.osfamily = Debian", {WEB01, DB02, MAIL}),
    ],
    "set_and_null_on_facts_test_for_the_key_and_each_term_stands_alone": [
        ("set? facts.osfamily", {WEB01, WEB02, DB01, WEBSRV}),
        ("has facts.osfamily", {WEB01, WEB02, DB01, WEBSRV}),
        ("null? facts.osfamily", {DB02, MAIL}),
        ("not set? facts.osfamily", {DB02, MAIL}),
        ("set? facts.osfamily or os = Ubuntu", {WEB01, WEB02, DB01, WEBSRV, MAIL}),
        ("set? facts.os::release::major or set? params.flag", {WEB01, DB01}),
        ("null? facts.nope", ALL),
    ],
    "params_compare_text_and_take_the_key_after_the_last_dot": [
        ("params.env = prod", {WEB01, DB01}),
        ("params.env ~ prod", {WEB01, DB01, MAIL}),
        ("params.tier > 1", {WEB02, WEBSRV}),
        ("params.tier = 1", {WEB01}),
        ("params.x.tier = 1", {WEB01}),
        ("not params.env = prod", {WEB02, DB02, WEBSRV, MAIL}),
        ("params.env != prod", {WEB02, MAIL}),
        ("set? params.flag", {DB01}),
        ("null? params.env", {DB02, WEBSRV}),
        ("params.env ^ (prod, staging)", {WEB01, WEB02, DB01}),
        ("params.env !^ (prod)", {WEB02, MAIL}),
        ("params.env !^ ()", ALL),
    ],
    "the_benchmark_query_resolves_as_specified": [
        ("facts.osfamily = Debian and name ~ web* and not params.env = prod", {WEB02, WEBSRV}),
    ],
    "a_blank_query_matches_every_host": [
        ("", ALL),
        ("   ", ALL),
    ],
}


@pytest.mark.parametrize("rule", RULES)
async def test_queries_select_the_hosts_the_rule_says(database, rule):
    await seed(database)
    wrong = {}
    for query, expected in RULES[rule]:
        got = await matching(database, query)
        if got != set(expected):
            wrong[query] = {"expected": sorted(expected), "got": sorted(got)}
    assert not wrong, wrong


KEY_VALUE_RULES = [rule for rule in RULES if "facts" in rule or "params" in rule]


@pytest.mark.parametrize("rule", KEY_VALUE_RULES)
async def test_facts_and_params_select_the_same_hosts_as_exists_subqueries(database, rule):
    await seed(database)
    registry = host_fields(shape="exists")
    wrong = {}
    for query, expected in RULES[rule]:
        got = await matching(database, query, registry)
        if got != set(expected):
            wrong[query] = {"expected": sorted(expected), "got": sorted(got)}
    assert not wrong, wrong
