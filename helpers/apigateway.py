"""API Gateway helpers for the notebooks: where a deployed REST API stage answers, and the
console's "Method Request passthrough" mapping template for non-proxy Lambda integrations.

On AWS a stage answers at ``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}/``. The
local cloud serves the same stage at ``{endpoint}/restapis/{api_id}/{stage}/_user_request_/``
(the form moto and LocalStack use); see ``helpers.localcloud.planes.apigateway_invoke``.
"""

from __future__ import annotations

import os

from helpers import config

# The "Method Request passthrough" mapping template of the API Gateway console (Integration
# Request > Mapping templates > Generate template), verbatim: for a non-proxy Lambda integration
# it hands the function the body as "body-json", every parameter under "params" (path,
# querystring, header), the stage variables and the request context.
METHOD_REQUEST_PASSTHROUGH = """##  See http://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
##  This template will pass through all parameters including path, querystring, header, stage variables, and context through to the integration endpoint via the body/payload
#set($allParams = $input.params())
{
"body-json" : $input.json('$'),
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
},
"stage-variables" : {
#foreach($key in $stageVariables.keySet())
"$key" : "$util.escapeJavaScript($stageVariables.get($key))"
    #if($foreach.hasNext),#end
#end
},
"context" : {
    "account-id" : "$context.identity.accountId",
    "api-id" : "$context.apiId",
    "api-key" : "$context.identity.apiKey",
    "authorizer-principal-id" : "$context.authorizer.principalId",
    "caller" : "$context.identity.caller",
    "cognito-authentication-provider" : "$context.identity.cognitoAuthenticationProvider",
    "cognito-authentication-type" : "$context.identity.cognitoAuthenticationType",
    "cognito-identity-id" : "$context.identity.cognitoIdentityId",
    "cognito-identity-pool-id" : "$context.identity.cognitoIdentityPoolId",
    "http-method" : "$context.httpMethod",
    "stage" : "$context.stage",
    "source-ip" : "$context.identity.sourceIp",
    "user" : "$context.identity.user",
    "user-agent" : "$context.identity.userAgent",
    "user-arn" : "$context.identity.userArn",
    "request-id" : "$context.requestId",
    "resource-id" : "$context.resourceId",
    "resource-path" : "$context.resourcePath"
    }
}
"""



def invoke_url(api_id: str, stage: str, path: str = "", settings: config.Settings | None = None) -> str:
    """The URL that calls ``path`` (e.g. ``"invoices"``) on a deployed stage, for the configured target.

    Locally the endpoint is the one boto3 uses (``AWS_ENDPOINT_URL``), else the configured one.
    """
    s = settings or config.settings()
    tail = path.lstrip("/")
    if s.is_local:
        endpoint = os.environ.get("AWS_ENDPOINT_URL") or s.local_endpoint
        return f"{endpoint.rstrip('/')}/restapis/{api_id}/{stage}/_user_request_/{tail}"
    return f"https://{api_id}.execute-api.{s.region}.amazonaws.com/{stage}/{tail}"
