"""The VTL engine of the local API Gateway, with the ``$input`` and ``$util`` variables.

Behaviour follows https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
"""

from __future__ import annotations

import json

import pytest

from helpers.apigateway import METHOD_REQUEST_PASSTHROUGH
from helpers.localcloud.apigateway.mapping import InputVariable, UtilVariable, escape_javascript
from helpers.localcloud.apigateway.templates import TemplateError, from_json, render


def variables(
    body: str = "", params: dict | None = None, context: dict | None = None, stage_variables: dict | None = None
) -> dict:
    return {
        "input": InputVariable(body, params or {"path": {}, "querystring": {}, "header": {}}),
        "util": UtilVariable(),
        "context": context or {},
        "stageVariables": stage_variables or {},
    }


CONTEXT = {
    "apiId": "a1b2c3d4e5",
    "httpMethod": "POST",
    "stage": "prod",
    "requestId": "req-1",
    "resourceId": "res-1",
    "resourcePath": "/invoices/{InvoiceNo}",
    "identity": {"sourceIp": "127.0.0.1", "userAgent": "curl/8", "apiKey": "k" * 30, "accountId": None},
}


def test_mapping_template_reference_method_request_passthrough_renders_valid_json():
    params = {"path": {"InvoiceNo": "536365"}, "querystring": {"q": "1", "r": "two"}, "header": {"X-Source": "pos"}}
    body = '{"Quantity": 6, "Description": "WHITE HANGING HEART T-LIGHT HOLDER"}'

    rendered = render(METHOD_REQUEST_PASSTHROUGH, variables(body, params, CONTEXT, {"table": "invoice"}))

    event = json.loads(rendered)
    assert event["body-json"] == json.loads(body)
    assert event["params"] == params
    assert event["stage-variables"] == {"table": "invoice"}
    assert event["context"]["http-method"] == "POST" and event["context"]["resource-path"] == "/invoices/{InvoiceNo}"
    assert event["context"]["api-key"] == "k" * 30 and event["context"]["source-ip"] == "127.0.0.1"
    assert event["context"]["account-id"] == "" and event["context"]["authorizer-principal-id"] == ""


def test_mapping_template_reference_passthrough_of_an_empty_get_gives_empty_maps():
    event = json.loads(render(METHOD_REQUEST_PASSTHROUGH, variables("", None, CONTEXT)))
    assert event["body-json"] == {} and event["params"] == {"path": {}, "querystring": {}, "header": {}}
    assert event["stage-variables"] == {}


def test_null_references_render_empty_and_dollar_signs_that_are_not_references_stay():
    assert render("[$missing][$!missing][${missing}][$a.b.c][$5][$ x]", {"a": {}}) == "[][][][][$5][$ x]"


def test_if_elseif_else_and_operators():
    template = "#if($n > 2 && $s == 'x')big#elseif($n ge 1 or !$flag)some#{else}none#end"
    assert render(template, {"n": 3, "s": "x"}) == "big"
    assert render(template, {"n": 1, "s": "y"}) == "some"
    assert render(template, {"n": 0, "s": "y", "flag": True}) == "none"
    assert render("#if($empty)yes#end", {"empty": ""}) == "yes"  # Velocity 1.7: only null and false are false
    assert render("$x", {"x": 7 / 2}) == "3.5" and render("#set($q = 7 / 2)$q", {}) == "3"  # Java integer division


def test_foreach_exposes_has_next_index_count_and_velocity_count():
    template = "#foreach($i in [10..12])$foreach.index:$foreach.count:$velocityCount:$i#if($foreach.hasNext),#end#end"
    assert render(template, {}) == "0:1:1:10,1:2:2:11,2:3:3:12"
    assert render("#foreach($v in $m)$v;#end", {"m": {"a": 1, "b": 2}}) == "1;2;"  # a Map iterates its values


def test_directives_alone_on_their_line_take_the_line_with_them():
    template = "{\n  #foreach($k in $keys)\n  \"$k\": 1#if($foreach.hasNext),#end\n  #end\n}"
    assert render(template, {"keys": ["a", "b"]}) == '{\n  "a": 1,\n  "b": 1\n}'


def test_set_into_maps_lists_and_context_overrides():
    template = (
        "#set($m = {})#set($m.a = 1)#set($l = [1, 2])#set($l[0] = 9)$m $l"
        "#set($context.responseOverride.status = 404)"
    )
    context = {"responseOverride": {"header": {}}}
    assert render(template, {"context": context}) == "{a=1} [9, 2]"
    assert context["responseOverride"]["status"] == 404


def test_java_string_list_and_map_methods():
    values = {"s": " Hello World ", "l": ["a", "b"], "m": {"x": 1}}
    assert render("$s.trim().toLowerCase().replaceAll('(o)', '[$1]')", values) == "hell[o] w[o]rld"
    template = "$s.trim().split(' ').size() $l.contains('b') $m.containsKey('x') $m.keySet()"
    assert render(template, values) == "2 true true [x]"


def test_json_values_render_as_api_gateway_renders_them():
    document = from_json({"a": 1, "items": [{"c": 5}], "price": 249.99, "big": 1.5e10})
    assert render("$d", {"d": document}) == '{a=1, items=[{"c":5}], price=249.99, big=1.5E10}'
    assert render("$d.items", {"d": document}) == '[{"c":5}]'


def test_input_json_path_body_and_params():
    body = '{"InvoiceNo": "536365", "lines": [{"qty": 6}, {"qty": 8}], "note": null}'
    params = {"path": {"id": "p"}, "querystring": {"id": "q", "page": "2"}, "header": {"X-Api-Key": "abc"}}
    v = variables(body, params)
    assert render("$input.json('$.lines[1]')", v) == '{"qty":8}'
    assert render("$input.json('$.missing')|$input.json('$.note')", v) == "|null"
    paths = "$input.path('$.lines').size() $input.path('$.lines')[0].qty $input.path(\"$['InvoiceNo']\")"
    assert render(paths, v) == "2 6 536365"
    lookups = "$input.params('id') $input.params('page') $input.params('x-api-key') [$input.params('none')]"
    assert render(lookups, v) == "p 2 abc []"
    assert render("$input.body", variables("")) == "{}"
    assert render("$input.json('$')", variables("token=abc&x=1")) == '"token=abc&x=1"'  # a non-JSON body is a string


def test_util_functions():
    v = variables()
    assert render("$util.urlEncode('a b~c*')", v) == "a+b%7Ec*"
    assert render("$util.urlDecode('a+b%2Fc')", v) == "a b/c"
    assert render("$util.base64Decode($util.base64Encode('café'))", v) == "café"
    assert render("$util.parseJson('{\"k\": [1, 2]}').k[1]", v) == "2"
    assert render("[$util.escapeJavaScript($missing)]", v) == "[]"


def test_escape_javascript_follows_the_documented_rules():
    # The AWS page: single quotes become \' , which is not valid JSON.
    escaped = escape_javascript("it's \"quoted\" / back\\slash\nline\té")
    assert escaped == "it\\'s \\\"quoted\\\" \\/ back\\\\slash\\nline\\t\\u00E9"
    assert escape_javascript("\U0001f600") == "\\uD83D\\uDE00"
    # ... and the page's remedy turns them back into plain quotes.
    template = """$util.escapeJavaScript($data).replaceAll("\\\\'","'")"""
    assert render(template, {**variables(), "data": "it's"}) == "it's"


@pytest.mark.parametrize(
    "template, named",
    [
        ("#macro(x)#end", "#macro"),
        ("#parse('other.vm')", "#parse"),
        ("#foreach($i in $l)#break#end", "#break"),
        ("$s.codePointAt(0)", "String.codePointAt"),
        ("$util.toJson($s)", "$util.toJson"),
        ("$input.json('$..name')", "JSONPath"),
        ("$input.json('$.items[*]')", "JSONPath"),
        ("#if($a)never closed", "#end"),
        ("#end", "#end without"),
    ],
)
def test_unsupported_vtl_fails_clearly_naming_the_construct(template, named):
    with pytest.raises(TemplateError, match=named.replace("$", r"\$").replace("[", r"\[").replace("*", r"\*")):
        render(template, {**variables('{"items": [1]}'), "s": "x", "l": [1]})


def test_foreach_stops_at_the_api_gateway_limit():
    with pytest.raises(TemplateError, match="1000"):
        render("#foreach($i in [1..1001])#end", {})
