"""A table of small workflows, one per construct, with the result the service gives."""

from __future__ import annotations

import pytest

from tests.localgcp_workflows.helpers import execute

PROGRAMS: dict[str, tuple[str, object, object]] = {
    "simple list form": (
        """
        - first:
            assign:
              - a: 2
        - second:
            return: ${a * 21}
        """,
        None,
        42,
    ),
    "runtime argument": (
        """
        main:
          params: [args]
          steps:
            - greet:
                return: ${"Hello, " + args.name + "!"}
        """,
        {"name": "Ada"},
        "Hello, Ada!",
    ),
    "assign nested targets": (
        """
        - init:
            assign:
              - m: {}
              - m.inner: {list: [1, 2, 3]}
              - m.inner.list[1]: 20
              - m["odd key"]: yes
              - key: dyn
              - m[key]: ${len(m)}
              - lst: [[0, 1], [2, 3]]
              - lst[1][0]: ${lst[0][1] + 100}
        - done:
            return: ${[m, lst]}
        """,
        None,
        [{"inner": {"list": [1, 20, 3]}, "odd key": True, "dyn": 2}, [[0, 1], [101, 3]]],
    ),
    "copy semantics": (
        """
        - init:
            assign:
              - a: {x: 1}
              - b: ${a}
              - b.x: 2
        - done:
            return: ${[a.x, b.x]}
        """,
        None,
        [1, 2],
    ),
    "subworkflow with defaults and result": (
        """
        main:
          steps:
            - one:
                call: greet
                args:
                  name: Lin
                result: r1
            - two:
                call: greet
                args:
                  name: Bo
                  greeting: Hi
                result: r2
            - done:
                return: ${[r1, r2, greet("Al", "Yo")]}
        greet:
          params: [name, greeting: Hello]
          steps:
            - build:
                return: ${greeting + " " + name}
        """,
        None,
        ["Hello Lin", "Hi Bo", "Yo Al"],
    ),
    "switch with next, steps, return": (
        """
        main:
          params: [n]
          steps:
            - classify:
                switch:
                  - condition: ${n < 0}
                    return: negative
                  - condition: ${n == 0}
                    next: zero
                  - condition: ${n > 100}
                    steps:
                      - big:
                          assign:
                            - label: big
                    next: finish
                next: small
            - zero:
                return: zero
            - small:
                assign:
                  - label: small
            - finish:
                return: ${label}
        """,
        150,
        "big",
    ),
    "switch falls through to step next": (
        """
        main:
          params: [n]
          steps:
            - classify:
                switch:
                  - condition: ${n < 0}
                    return: negative
                next: positive
            - unreachable:
                return: wrong
            - positive:
                return: ${"positive " + string(n)}
        """,
        5,
        "positive 5",
    ),
    "for over list with index, break and continue": (
        """
        - init:
            assign:
              - total: 0
              - seen: []
        - loop:
            for:
              value: v
              index: i
              in: [1, 2, 3, 4, 5, 6]
              steps:
                - skip_even:
                    switch:
                      - condition: ${v % 2 == 0}
                        next: continue
                - stop_late:
                    switch:
                      - condition: ${v > 4}
                        next: break
                - add:
                    assign:
                      - total: ${total + v}
                      - seen: ${list.concat(seen, i)}
        - done:
            return: ${[total, seen]}
        """,
        None,
        [4, [0, 2]],
    ),
    "for over map keys and range; loop variables are scoped": (
        """
        - init:
            assign:
              - m: {a: 1, b: 2}
              - keys_seen: ""
              - sum: 0
        - over_keys:
            for:
              value: k
              in: ${keys(m)}
              steps:
                - acc:
                    assign:
                      - keys_seen: ${keys_seen + k}
                      - temp: ${m[k]}
        - over_range:
            for:
              value: n
              range: [1, 4]
              steps:
                - acc2:
                    assign:
                      - sum: ${sum + n}
        - done:
            return: ${[keys_seen, sum, "temp" in keys(m), default(map.get(m, "zz"), "none")]}
        """,
        None,
        ["ab", 10, False, "none"],
    ),
    "next end and nested steps": (
        """
        - block:
            steps:
              - inner:
                  assign:
                    - x: 1
              - leave:
                  next: end
        - never:
            assign:
              - x: 2
        """,
        None,
        None,
    ),
    "raise map caught with except": (
        """
        - guarded:
            try:
              steps:
                - fail:
                    raise:
                      code: 55
                      message: custom failure
            except:
              as: e
              steps:
                - handled:
                    return: ${"caught " + string(e.code) + " " + e.message}
        """,
        None,
        "caught 55 custom failure",
    ),
    "raise string caught": (
        """
        - guarded:
            try:
              steps:
                - fail:
                    raise: plain text
            except:
              as: e
              steps:
                - handled:
                    return: ${e}
        """,
        None,
        "plain text",
    ),
    "builtin errors carry tags": (
        """
        - init:
            assign:
              - tags: []
              - probes: ["key", "index", "type", "zero", "value"]
        - each:
            for:
              value: p
              in: ${probes}
              steps:
                - probe:
                    try:
                      steps:
                        - pick:
                            switch:
                              - condition: ${p == "key"}
                                assign:
                                  - x: ${{}["missing"]}
                              - condition: ${p == "index"}
                                assign:
                                  - x: ${[1][3]}
                              - condition: ${p == "type"}
                                assign:
                                  - x: ${"a" + 1}
                              - condition: ${p == "zero"}
                                assign:
                                  - x: ${1 / 0}
                              - condition: ${p == "value"}
                                assign:
                                  - x: ${int("nope")}
                    except:
                      as: e
                      steps:
                        - keep:
                            assign:
                              - tags: ${list.concat(tags, e.tags[0])}
        - done:
            return: ${tags}
        """,
        None,
        ["KeyError", "IndexError", "TypeError", "ZeroDivisionError", "ValueError"],
    ),
    "retry with custom predicate subworkflow": (
        """
        main:
          steps:
            - init:
                assign:
                  - attempts: 0
            - flaky:
                try:
                  steps:
                    - count:
                        assign:
                          - attempts: ${attempts + 1}
                    - maybe_fail:
                        switch:
                          - condition: ${attempts < 3}
                            raise:
                              code: 409
                              message: busy
                retry:
                  predicate: ${only_409}
                  max_retries: 5
                  backoff:
                    initial_delay: 1
                    max_delay: 10
                    multiplier: 2
            - done:
                return: ${attempts}
        only_409:
          params: [e]
          steps:
            - check:
                switch:
                  - condition: ${e.code == 409}
                    return: true
            - otherwise:
                return: false
        """,
        None,
        3,
    ),
    "retry exhausted then except": (
        """
        - init:
            assign:
              - attempts: 0
        - flaky:
            try:
              steps:
                - count:
                    assign:
                      - attempts: ${attempts + 1}
                - fail:
                    raise:
                      code: 503
                      message: down
            retry:
              predicate: ${http.default_retry_predicate}
              max_retries: 2
            except:
              as: e
              steps:
                - report:
                    return: ${[attempts, e.code]}
        """,
        None,
        [3, 503],
    ),
    "stdlib text, json, base64, time": (
        """
        - calc:
            assign:
              - parts: ${text.split("a,b,c", ",")}
              - enc: ${base64.encode(text.encode("hi"))}
              - dec: ${text.decode(base64.decode(enc))}
              - js: '${json.encode_to_string({"k": [1, 2]})}'
              - back: ${json.decode(js)}
              - found: ${text.find_all("banana", "an")}
              - t: ${time.parse("2024-03-01T12:00:00Z")}
        - done:
            return:
              parts: ${parts}
              dec: ${dec}
              js: ${js}
              back: ${back.k[1]}
              found: ${found}
              upper: ${text.to_upper(text.substring("workflow", 0, 4))}
              replaced: ${text.replace_all("a-b-c", "-", "+")}
              regex: ${text.match_regex("order-123", "^order-[0-9]+$")}
              formatted: ${time.format(t)}
              types: ${[type(1), type(1.5), type("s"), type(true), type(null), type([]), type({})]}
              conv: ${[int("7") + 1, double("2.5"), string(3), int(2.9), 7 // 2, -7 % 3, 2 * 1.5]}
              merged: '${map.merge({"a": 1}, {"b": 2})}'
              deleted: '${map.delete({"a": 1, "b": 2}, "a")}'
              pre: ${list.prepend([2], 1)}
              logic: ${not false and (1 < 2 or false) and "b" in ["a", "b"]}
        """,
        None,
        {
            "parts": ["a", "b", "c"],
            "dec": "hi",
            "js": '{"k":[1,2]}',
            "back": 2,
            "found": [{"index": 1, "match": "an"}, {"index": 3, "match": "an"}],
            "upper": "WORK",
            "replaced": "a+b+c",
            "regex": True,
            "formatted": "2024-03-01T12:00:00.000000Z",
            "types": ["integer", "double", "string", "boolean", "null", "list", "map"],
            "conv": [8, 2.5, "3", 2, 3, 2, 3.0],
            "merged": {"a": 1, "b": 2},
            "deleted": {"b": 2},
            "pre": [1, 2],
            "logic": True,
        },
    ),
    "call stdlib with named args": (
        """
        - split:
            call: text.split
            args:
              source: x/y
              separator: /
            result: parts
        - log:
            call: sys.log
            args:
              text: ${"parts " + string(len(parts))}
              severity: INFO
        - done:
            return: ${parts}
        """,
        None,
        ["x", "y"],
    ),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_program(name: str) -> None:
    source, argument, expected = PROGRAMS[name]
    assert execute(source, argument) == expected
