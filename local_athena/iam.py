"""IAM on the local Athena: dbt runs under the dbt policy of `infra/lakehouse.yaml`, and a missing permission fails.

The stack creates an IAM user in moto with the template's `DbtPolicy`, resolved for the local layout, and hands
its keys to dbt (`Stack.env()`). Every request signed with those keys is then authorised against the user's
policies as AWS does it, before moto or the Athena front carries it out:

- **S3** (moto): the action moto derives from the request, on the bucket or object ARN, with the `s3:prefix`
  condition key of a listing.
- **Glue** (moto): the action on the resource and all its ancestors (catalog, database, table), as the Glue
  documentation requires ("All operations performed on a Data Catalog resource require permission on the
  resource and all the ancestors of that resource").
- **Athena** (the front): the action on the workgroup or data catalog ARN; a query also needs `s3:PutObject`
  on the workgroup's result location, which Athena writes with the caller's permissions.
- **STS** `GetCallerIdentity` is always allowed, as on AWS.

moto's own IAM check is not used: once on, it applies to every caller, checks Glue and Athena against the
resource `*` only, and evaluates conditions without their values. The engine's own identity (Trino, the front's
Glue calls, the bronze upload, `make athena-query`) is the account's administrator and is not checked, the way
Athena's service side is not limited by the caller's policy here. What is not emulated: signatures are not
verified (the access key names the caller), and the data Trino reads and writes for a query is not checked
against the caller's S3 permissions (Athena checks it; see docs/aws.md).
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).resolve().parents[1] / "infra" / "lakehouse.yaml"
ACCOUNT = "123456789012"  # moto's default account
DBT_USER = "dbt"
DBT_POLICY = "lakehouse-dbt"


# --- the template ----------------------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt ...), each read as its long form."""


def _cfn_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass


def resolve(node: Any, names: dict[str, str]) -> Any:
    """A value of the template with its Ref, Fn::GetAtt (named "Resource.Attribute") and Fn::Sub resolved from
    `names` (KeyError on a name it lacks); any other function is an error rather than left in place."""
    if isinstance(node, list):
        return [resolve(item, names) for item in node]
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            return names[node["Ref"]]
        if set(node) == {"Fn::GetAtt"}:
            return names[".".join(node["Fn::GetAtt"])]
        if set(node) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}!]+)\}", lambda m: names[m.group(1)], node["Fn::Sub"])
        if any(key.startswith("Fn::") for key in node):
            raise ValueError(f"cannot resolve {sorted(node)} of infra/lakehouse.yaml")
        return {key: resolve(value, names) for key, value in node.items()}
    return node


@dataclass(frozen=True)
class Layout:
    """The names infra/lakehouse.yaml would give this environment's resources, for the local stack."""

    env: str
    lake_bucket: str
    prefix: str
    results_bucket: str
    region: str
    account: str = ACCOUNT

    @property
    def work_group(self) -> str:
        return f"{self.env}-lakehouse"  # AthenaWorkGroup's Name: !Sub "${Env}-lakehouse"

    @property
    def data_dir(self) -> str:
        return f"s3://{self.lake_bucket}/{self.prefix}/warehouse/"

    @property
    def bronze_prefix(self) -> str:
        return f"{self.prefix}/bronze"

    @property
    def bronze_root(self) -> str:
        return f"s3://{self.lake_bucket}/{self.bronze_prefix}"

    @property
    def results_location(self) -> str:
        return f"s3://{self.results_bucket}/{self.env}/"  # the workgroup's enforced OutputLocation

    def names(self) -> dict[str, str]:
        return {"Env": self.env, "LakeBucket": self.lake_bucket, "Prefix": self.prefix,
                "AthenaResultsBucket": self.results_bucket, "AthenaWorkGroup": self.work_group,
                "AWS::Partition": "aws", "AWS::Region": self.region, "AWS::AccountId": self.account}


def dbt_policy_document(layout: Layout, template: Path = TEMPLATE) -> dict[str, Any]:
    """The PolicyDocument of the template's DbtPolicy, resolved for `layout`."""
    document = load_template(template)["Resources"]["DbtPolicy"]["Properties"]["PolicyDocument"]
    return resolve(document, layout.names())


# --- policy evaluation -----------------------------------------------------------------------------------------


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


_OPERATORS = {
    "StringEquals": lambda want, have: have == want,
    "StringNotEquals": lambda want, have: have != want,
    "StringLike": lambda want, have: _glob(want, have),
    "StringNotLike": lambda want, have: not _glob(want, have),
    "ArnEquals": lambda want, have: have == want,
    "ArnLike": lambda want, have: _glob(want, have),
}


def _condition_holds(condition: dict[str, Any], context: dict[str, list[str]]) -> bool:
    for operator, keys in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        if base not in _OPERATORS:
            raise ValueError(f"the local Athena does not evaluate the condition operator {operator}")
        test = _OPERATORS[base]
        negated = "Not" in base
        for key, wanted in keys.items():
            values = context.get(key.lower())
            if values is None:
                if if_exists or negated:
                    continue
                return False
            wanted = [str(w) for w in _as_list(wanted)]
            # A single-valued key: the statement matches when any listed value matches (all, for a negation).
            if negated:
                if not all(test(w, v) for w in wanted for v in values):
                    return False
            elif not any(test(w, v) for w in wanted for v in values):
                return False
    return True


def _statement_applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, list[str]]) -> bool:
    if "Action" in statement:
        if not any(_glob(a, action, case=False) for a in _as_list(statement["Action"])):
            return False
    elif any(_glob(a, action, case=False) for a in _as_list(statement.get("NotAction", []))):
        return False
    if "Resource" in statement:
        if not any(_glob(r, resource) for r in _as_list(statement["Resource"])):
            return False
    elif any(_glob(r, resource) for r in _as_list(statement.get("NotResource", []))):
        return False
    return _condition_holds(statement.get("Condition") or {}, context)


def decide(documents: list[dict[str, Any]], action: str, resource: str,
           context: dict[str, list[str]] | None = None) -> str:
    """'allow', 'deny' (an explicit Deny) or 'implicit' (nothing allows it): IAM's evaluation of one request."""
    context = {k.lower(): v for k, v in (context or {}).items()}
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement", [])):
            if _statement_applies(statement, action, resource, context):
                if statement.get("Effect") == "Deny":
                    return "deny"
                allowed = True
    return "allow" if allowed else "implicit"


# --- what a request needs ------------------------------------------------------------------------------------


def glue_resources(action: str, body: dict[str, Any], region: str, account: str = ACCOUNT) -> list[str]:
    """The ARNs a Glue Data Catalog request needs permission on: the resource and all its ancestors."""
    base = f"arn:aws:glue:{region}:{account}"
    catalog = f"{base}:catalog"
    database = body.get("DatabaseName")
    if action in ("GetDatabase", "DeleteDatabase", "UpdateDatabase"):
        database = body.get("Name")
    elif action == "CreateDatabase":
        database = (body.get("DatabaseInput") or {}).get("Name")
    tables: list[str] = []
    if action in ("CreateTable", "UpdateTable"):
        tables = [(body.get("TableInput") or {}).get("Name", "")]
    elif action == "BatchDeleteTable":
        tables = list(body.get("TablesToDelete") or [])
    elif "TableName" in body:
        tables = [body["TableName"]]
    elif action in ("GetTable", "DeleteTable") and "Name" in body:
        tables = [body["Name"]]
    arns = [catalog]
    if database:
        arns.append(f"{base}:database/{database}")
        arns += [f"{base}:table/{database}/{table}" for table in tables]
    return arns


def athena_resource(action: str, body: dict[str, Any], work_group: str, region: str, account: str = ACCOUNT) -> str:
    base = f"arn:aws:athena:{region}:{account}"
    if action in ("GetDataCatalog", "GetDatabase", "ListDatabases", "GetTableMetadata", "ListTableMetadata"):
        name = body.get("Name") or body.get("CatalogName") or "AwsDataCatalog"
        # Athena's catalog names are case-insensitive ("awsdatacatalog" in dbt's profile); the ARN is taken in the
        # spelling of the template's policy. An assumption: no test on AWS shows which spelling Athena checks.
        return f"{base}:datacatalog/{'AwsDataCatalog' if name.lower() == 'awsdatacatalog' else name}"
    if action in ("ListDataCatalogs", "ListWorkGroups"):
        return "*"
    return f"{base}:workgroup/{work_group}"


def access_key_of(headers: Any, query: dict[str, Any] | None = None) -> str | None:
    """The access key id a request is signed with (header or presigned URL), or None for an unsigned one."""
    authorization = headers.get("Authorization") or ""
    found = re.search(r"Credential=([^/,\s]+)/", authorization)
    if found:
        return found.group(1)
    credential = (query or {}).get("X-Amz-Credential")
    if credential:
        value = credential[0] if isinstance(credential, list) else credential
        return value.split("/", 1)[0]
    return None


class AccessDenied(Exception):
    def __init__(self, principal: str, action: str, resource: str) -> None:
        self.principal, self.action, self.resource = principal, action, resource
        super().__init__(f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
                         f"because no identity-based policy allows the {action} action")


class Authorizer:
    """Who a key belongs to and what its policies allow, read from moto's IAM on every request, so a test that
    changes the dbt policy through the IAM API sees the change at once."""

    def __init__(self, engine_key: str, region: str, account: str = ACCOUNT,
                 denials_log: Path | None = None) -> None:
        self.engine_key = engine_key
        self.region = region
        self.account = account
        self.denials_log = denials_log
        self.used: set[str] = set()  # the actions the dbt user was allowed
        self.used_log = denials_log.with_name("iam-actions.json") if denials_log is not None else None
        for stale in (self.denials_log, self.used_log):  # a new stack has a new IAM: start both records afresh
            if stale is not None:
                stale.unlink(missing_ok=True)

    def _user(self, key: str) -> tuple[str, list[dict[str, Any]]] | None:
        from moto.iam.models import iam_backends

        backend = iam_backends[self.account]["aws"]
        for user in list(backend.users.values()):
            for access_key in user.access_keys:
                if access_key.access_key_id == key and access_key.status == "Active":
                    documents = [json.loads(document) for document in user.policies.values()]
                    for policy in user.managed_policies.values():
                        version = next(v for v in policy.versions if v.is_default)
                        document = version.document
                        documents.append(json.loads(document) if isinstance(document, str) else document)
                    return user.arn, documents
        return None

    def check(self, key: str | None, requests: list[tuple[str, str, dict[str, list[str]]]]) -> None:
        """Raise AccessDenied unless every (action, resource, context) is allowed for `key`."""
        if key == self.engine_key:
            return
        found = self._user(key) if key else None
        if found is None:
            principal = "anonymous" if key is None else f"an unknown access key {key}"
            action, resource, _ = requests[0]
            self._record(principal, action, resource)
            raise AccessDenied(principal, action, resource)
        principal, documents = found
        for action, resource, context in requests:
            if action == "sts:GetCallerIdentity":
                continue
            if decide(documents, action, resource, context) != "allow":
                self._record(principal, action, resource)
                raise AccessDenied(principal, action, resource)
        action = requests[0][0]
        if action not in self.used and self.used_log is not None:  # which actions dbt needs, for docs and tests
            self.used.add(action)
            self.used_log.write_text(json.dumps(sorted(self.used), indent=1) + "\n")

    def _record(self, principal: str, action: str, resource: str) -> None:
        log.warning("AccessDenied: %s %s on %s", principal, action, resource)
        if self.denials_log is not None:
            with self.denials_log.open("a") as out:
                out.write(json.dumps({"at": datetime.now(UTC).isoformat(), "principal": principal,
                                      "action": action, "resource": resource}) + "\n")


def install_moto_hook(authorizer: Authorizer) -> None:
    """Authorise moto's S3, Glue, STS and IAM requests with `authorizer` instead of moto's own check."""
    from moto.core.authorization import ActionAuthenticatorMixin

    def authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        from moto.iam.access_control import S3IAMRequest

        key = access_key_of(self.headers, getattr(self, "querystring", None))
        if key == authorizer.engine_key:
            return
        action = self._get_action()
        action = action[0] if isinstance(action, list) else action
        service = self.service_name if hasattr(self, "service_name") else ""
        context: dict[str, list[str]] = {}
        if iam_request_cls is S3IAMRequest:
            service = "s3"
            query = getattr(self, "querystring", {}) or {}
            if action == "ListBucket":
                context["s3:prefix"] = [(query.get("prefix") or [""])[0]]
            resources = [resource]
            if "delete" in query and self.method == "POST":  # DeleteObjects: s3:DeleteObject on every key
                raw = getattr(self, "raw_body", None) or self.body or b""
                body = raw.decode() if isinstance(raw, bytes) else raw
                resources = [f"{resource}/{html.unescape(key)}" for key in re.findall(r"<Key>(.*?)</Key>", body)]
                action = "DeleteObject"
        elif service == "glue":
            try:
                body = json.loads(self.body or "{}")
            except ValueError:
                body = {}
            resources = glue_resources(action, body, authorizer.region, authorizer.account)
        else:
            resources = [resource]
        try:
            authorizer.check(key, [(f"{service}:{action}", r, context) for r in resources])
        except AccessDenied as denied:
            from moto.core.exceptions import JsonRESTError
            from moto.s3.exceptions import S3AccessDeniedError

            if iam_request_cls is S3IAMRequest:
                error = S3AccessDeniedError()
                error.message = str(denied)
                raise error from None
            raise JsonRESTError("AccessDeniedException", str(denied)) from None

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize  # type: ignore[method-assign]
    # moto skips its check for the first INITIAL_NO_AUTH_ACTION_COUNT requests; ours runs from the first.
    from moto import settings

    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0


def provision_dbt_user(iam: Any, layout: Layout) -> tuple[str, str]:
    """Create the dbt user with the template's DbtPolicy (through moto's IAM API); its access key pair."""
    policy = iam.create_policy(PolicyName=f"{layout.env}-{DBT_POLICY}",
                               PolicyDocument=json.dumps(dbt_policy_document(layout)),
                               Description="DbtPolicy of infra/lakehouse.yaml, resolved for the local Athena")
    iam.create_user(UserName=DBT_USER)
    iam.attach_user_policy(UserName=DBT_USER, PolicyArn=policy["Policy"]["Arn"])
    key = iam.create_access_key(UserName=DBT_USER)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]
