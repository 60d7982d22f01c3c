"""Every operator of the condition language, its quantifiers, and all/any/not nesting.

Each row is (condition, object, whether it holds). Conditions are validated and compiled
by the real engine and evaluated with the object as the rule's target.
"""

from __future__ import annotations

import pytest
from enginekit import holds_on_object, make_rule
from pydantic import ValidationError

OBJ = {
    "name": "web-1",
    "replicas": 3,
    "ratio": 0.5,
    "enabled": True,
    "disabled": False,
    "zero": 0,
    "one": 1,
    "empty": "",
    "unset": None,
    "tags": ["a", "b"],
    "mixed": [1, True, "1"],
    "nums": [1, 5, 10],
    "bools": [True, False],
    "emptyList": [],
    "caps": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
    "ports": [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "dns", "containerPort": 53, "protocol": "UDP", "hostPort": 53},
    ],
    "version": "5",
}

CASES = [
    # exists
    ({"path": "name", "exists": True}, True),
    ({"path": "name", "exists": False}, False),
    ({"path": "missing", "exists": True}, False),
    ({"path": "missing", "exists": False}, True),
    ({"path": "unset", "exists": True}, False),  # null is unset
    ({"path": "zero", "exists": True}, True),  # falsy values exist
    ({"path": "disabled", "exists": True}, True),
    ({"path": "empty", "exists": True}, True),
    ({"path": "emptyList", "exists": True}, True),
    ({"path": "emptyList[*]", "exists": True}, False),
    ({"path": "ports[*].hostPort", "exists": True}, True),
    ({"path": "ports[*].hostIP", "exists": False}, True),
    # equals: booleans and numbers are kept apart (True == 1 in Python, not in YAML)
    ({"path": "name", "equals": "web-1"}, True),
    ({"path": "name", "equals": "web"}, False),
    ({"path": "replicas", "equals": 3}, True),
    ({"path": "replicas", "equals": 3.0}, True),
    ({"path": "replicas", "equals": "3"}, False),
    ({"path": "enabled", "equals": True}, True),
    ({"path": "enabled", "equals": 1}, False),
    ({"path": "one", "equals": True}, False),
    ({"path": "disabled", "equals": 0}, False),
    ({"path": "zero", "equals": False}, False),
    ({"path": "version", "equals": 5}, False),
    ({"path": "missing", "equals": "x"}, False),
    ({"path": "tags", "equals": ["a", "b"]}, True),
    ({"path": "caps", "equals": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}}, True),
    ({"path": "ports[*].protocol", "equals": "UDP"}, True),  # any value, by default
    ({"path": "ports[*].protocol", "equals": "UDP", "quantifier": "all"}, False),
    ({"path": "ports[*].containerPort", "equals": 8080}, True),
    # in / not_in
    ({"path": "name", "in": ["web-1", "web-2"]}, True),
    ({"path": "name", "in": ["api"]}, False),
    ({"path": "name", "in": []}, False),
    ({"path": "enabled", "in": [1, "true"]}, False),
    ({"path": "one", "in": [True]}, False),
    ({"path": "one", "in": [1.0]}, True),
    ({"path": "missing", "in": ["x"]}, False),
    ({"path": "name", "not_in": ["api"]}, True),
    ({"path": "name", "not_in": ["web-1"]}, False),
    ({"path": "name", "not_in": []}, True),
    ({"path": "missing", "not_in": ["x"]}, False),  # no value: nothing is outside the list
    ({"path": "enabled", "not_in": [1]}, True),
    ({"path": "ports[*].protocol", "not_in": ["TCP"]}, True),  # UDP is outside
    ({"path": "ports[*].protocol", "not_in": ["TCP"], "quantifier": "all"}, False),
    ({"path": "ports[*].protocol", "in": ["TCP", "UDP"], "quantifier": "all"}, True),
    # matches: re.search semantics, strings only
    ({"path": "name", "matches": "^web-\\d+$"}, True),
    ({"path": "name", "matches": "eb"}, True),  # search, not fullmatch
    ({"path": "name", "matches": "^eb"}, False),
    ({"path": "name", "matches": "(?i)^WEB"}, True),
    ({"path": "replicas", "matches": "3"}, False),  # numbers are not strings
    ({"path": "enabled", "matches": "True"}, False),
    ({"path": "missing", "matches": ".*"}, False),
    ({"path": "empty", "matches": "^$"}, True),
    ({"path": "tags[*]", "matches": "^b$"}, True),
    ({"path": "tags[*]", "matches": "^b$", "quantifier": "all"}, False),
    ({"path": "tags", "matches": "a"}, False),  # a list is not a string
    # gt / gte / lt / lte: numbers only, booleans and numeric strings are not numbers
    ({"path": "replicas", "gt": 2}, True),
    ({"path": "replicas", "gt": 3}, False),
    ({"path": "replicas", "gte": 3}, True),
    ({"path": "replicas", "lt": 3}, False),
    ({"path": "replicas", "lte": 3}, True),
    ({"path": "ratio", "lt": 1}, True),
    ({"path": "ratio", "gt": 0.25}, True),
    ({"path": "enabled", "gte": 0}, False),
    ({"path": "disabled", "lte": 0}, False),
    ({"path": "version", "gt": 1}, False),
    ({"path": "missing", "lt": 10}, False),
    ({"path": "nums[*]", "gt": 8}, True),
    ({"path": "nums[*]", "gt": 8, "quantifier": "all"}, False),
    ({"path": "nums[*]", "gte": 1, "quantifier": "all"}, True),
    ({"path": "ports[*].containerPort", "lt": 1024}, True),
    ({"path": "ports[*].containerPort", "lt": 1024, "quantifier": "all"}, False),
    ({"path": "mixed[*]", "gte": 1, "quantifier": "all"}, False),  # True and "1" are not numbers
    # contains: list membership (kept typed), or substring of a string
    ({"path": "tags", "contains": "a"}, True),
    ({"path": "tags", "contains": "c"}, False),
    ({"path": "mixed", "contains": True}, True),
    ({"path": "nums", "contains": True}, False),  # 1 is not True
    ({"path": "bools", "contains": 1}, False),
    ({"path": "nums", "contains": 5}, True),
    ({"path": "name", "contains": "eb-"}, True),
    ({"path": "name", "contains": "api"}, False),
    ({"path": "replicas", "contains": 3}, False),
    ({"path": "caps.add", "contains": "NET_BIND_SERVICE"}, True),
    ({"path": "caps.*", "contains": "ALL"}, True),  # any of the lists
    ({"path": "caps.*", "contains": "ALL", "quantifier": "all"}, False),
    ({"path": "missing", "contains": "x"}, False),
    ({"path": "emptyList", "contains": "x"}, False),
    # subset_of: every element of a list value is allowed
    ({"path": "tags", "subset_of": ["a", "b", "c"]}, True),
    ({"path": "tags", "subset_of": ["a"]}, False),
    ({"path": "emptyList", "subset_of": ["a"]}, True),  # nothing is outside
    ({"path": "nums", "subset_of": [1, 5, 10, 20]}, True),
    ({"path": "bools", "subset_of": [1, 0]}, False),
    ({"path": "name", "subset_of": ["web-1"]}, False),  # a string is not a list
    ({"path": "missing", "subset_of": ["a"]}, False),
    ({"path": "caps.drop", "subset_of": ["ALL"]}, True),
    # quantifier all over nothing does not hold
    ({"path": "missing[*]", "equals": 1, "quantifier": "all"}, False),
    ({"path": "emptyList[*]", "equals": 1, "quantifier": "all"}, False),
    # some / every: a nested condition per element, so two fields of one element go together
    ({"path": "ports", "some": {"all": [
        {"path": "protocol", "equals": "UDP"}, {"path": "hostPort", "exists": True}]}}, True),
    ({"path": "ports", "some": {"all": [
        {"path": "protocol", "equals": "TCP"}, {"path": "hostPort", "exists": True}]}}, False),
    ({"path": "ports[*]", "some": {"path": "name", "equals": "dns"}}, True),
    ({"path": "ports", "every": {"path": "containerPort", "gt": 0}}, True),
    ({"path": "ports", "every": {"path": "hostPort", "exists": True}}, False),
    ({"path": "emptyList", "some": {"path": "x", "exists": False}}, False),
    ({"path": "emptyList", "every": {"path": "x", "exists": False}}, False),  # no elements
    ({"path": "missing", "every": {"path": "x", "exists": False}}, False),
    ({"path": "tags", "some": {"path": "$object.name", "equals": "web-1"}}, True),  # roots reach out
    ({"path": "nums", "some": {"not": {"path": "x", "exists": True}}}, True),  # scalars as elements
    ({"path": "caps", "some": {"path": "add", "contains": "NET_BIND_SERVICE"}}, True),
    ({"path": "ports", "some": {"path": "name", "in": ["http"]}}, True),
    ({"path": "ports", "every": {"any": [
        {"path": "protocol", "equals": "TCP"}, {"path": "containerPort", "equals": 53}]}}, True),
    # all / any / not, nested
    ({"all": [{"path": "name", "exists": True}, {"path": "replicas", "gt": 1}]}, True),
    ({"all": [{"path": "name", "exists": True}, {"path": "replicas", "gt": 5}]}, False),
    ({"any": [{"path": "missing", "exists": True}, {"path": "replicas", "gt": 1}]}, True),
    ({"any": [{"path": "missing", "exists": True}, {"path": "replicas", "gt": 5}]}, False),
    ({"not": {"path": "name", "exists": True}}, False),
    ({"not": {"not": {"path": "name", "exists": True}}}, True),
    ({"not": {"all": [{"path": "enabled", "equals": True}, {"path": "disabled", "equals": False}]}}, False),
    ({"any": [{"all": [{"path": "enabled", "equals": True}, {"path": "zero", "equals": 1}]},
              {"not": {"any": [{"path": "missing", "exists": True}, {"path": "unset", "exists": True}]}}]},
     True),
    ({"all": [{"any": [{"path": "name", "matches": "^api"}, {"path": "name", "matches": "^web"}]},
              {"not": {"path": "tags", "contains": "z"}}]}, True),
]


def _id(case) -> str:
    check, expected = case
    return f"{check}->{expected}"


@pytest.mark.parametrize("check, expected", CASES, ids=[_id(c) for c in CASES])
def test_condition(check, expected):
    assert holds_on_object(check, OBJ) is expected


def test_every_operator_is_covered():
    from auditor.engine.conditions import OPERATORS

    used = {op for check, _ in CASES for op in _operators(check)}
    assert set(OPERATORS) <= used, f"operators without a case: {set(OPERATORS) - used}"


def _operators(check):
    for key, value in check.items():
        if key in ("all", "any"):
            for item in value:
                yield from _operators(item)
        elif key == "not":
            yield from _operators(value)
        elif key not in ("path", "quantifier"):
            yield key
            if key in ("some", "every"):
                yield from _operators(value)


@pytest.mark.parametrize(
    "check",
    [
        {"path": "a", "gt": "5"},
        {"path": "a", "gte": True},
        {"path": "a", "lt": "1e3"},
        {"path": "a", "lte": False},
    ],
    ids=repr,
)
def test_comparison_operands_must_be_numbers(check):
    """``gt: "5"`` or ``gt: true`` would silently compare against 5.0 or 1.0."""
    with pytest.raises(ValidationError, match="Input should be a valid number"):
        make_rule(check=check)


@pytest.mark.parametrize("operator", ["exists", "equals", "in", "not_in", "matches", "gt",
                                      "contains", "subset_of", "some", "every"])
def test_null_operands_are_rejected(operator):
    """``equals: null`` could never hold (null means unset): the rule author meant something else."""
    with pytest.raises(ValidationError, match="null"):
        make_rule(check={"path": "a", operator: None})
