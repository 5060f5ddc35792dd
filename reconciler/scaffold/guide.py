"""What ``reconciler init`` prints: the files it wrote, then the next steps as commands.

The Azure and GitHub commands are the ones docs/gitops.md (section 2 and 3) documents for this
repository's own pipeline: one read-only "plan" identity federated for pull requests and for
``main``, and one deploy identity per environment federated for ``environment:<env>``.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from reconciler.scaffold.render import LOCAL, Scaffold, endpoint_variable

ROLE = "Foundry User"
ROLE_ID = "53ca6127-db72-4b80-b1b0-d745d6d5456d"
_ISSUER = "https://token.actions.githubusercontent.com"
_FIC = f"""fic() {{  # fic APP_ID NAME SUBJECT
  cat > "/tmp/$2.json" <<EOF
{{
  "name": "$2",
  "issuer": "{_ISSUER}",
  "subject": "$3",
  "description": "GitHub Actions ($3)",
  "audiences": ["api://AzureADTokenExchange"]
}}
EOF
  az ad app federated-credential create --id "$1" --parameters "/tmp/$2.json"
}}"""
_SCOPE = (
    "project_scope() {  # project_scope SUBSCRIPTION RESOURCE_GROUP ACCOUNT PROJECT\n"
    '  echo "/subscriptions/$1/resourceGroups/$2/providers/'
    'Microsoft.CognitiveServices/accounts/$3/projects/$4"\n'
    "}"
)


def report(folder: str, scaffold: Scaffold, written: Sequence[str], extended: bool) -> str:
    """The whole text ``reconciler init`` prints: what it wrote, then ``next_steps``."""
    names = ", ".join(scaffold.environments)
    lines = [
        f"Created a routines repository in {folder} (stack {scaffold.stack}; "
        f"environments {names}, and {LOCAL} to try it without Azure):",
        *(f"  wrote {path}" for path in written),
    ]
    if extended:
        lines.append("  added .reconciler/ to .gitignore")
    return "\n".join([*lines, "", next_steps(folder, scaffold)])


def next_steps(folder: str, scaffold: Scaffold) -> str:
    """The next steps: try it locally, federate the identities, grant the Foundry role, set
    the repository secrets, open the first pull request. Comments explain; the other lines
    are commands to copy (az and gh need their own sign-in)."""
    sections = [
        "Next steps. Lines starting with # explain; the others are commands to copy.",
        _try_locally(folder),
        _identities(scaffold),
        _roles(scaffold.environments),
        _github(scaffold.environments),
        _first_pull_request(scaffold.environments),
    ]
    return "\n\n".join(sections) + "\n"


def _var(environment: str) -> str:
    return environment.upper()


def _try_locally(folder: str) -> str:
    cd = [] if folder in (".", "") else [f"cd {shlex.quote(folder)}"]
    return "\n".join(
        [
            "# 1. Try it on the embedded local project (.reconciler/local.db), no cloud account:",
            *cd,
            "reconciler validate",
            f"reconciler plan --env {LOCAL}",
            f"reconciler apply --env {LOCAL} --auto-approve",
            f"reconciler plan --env {LOCAL}    # No changes. The project matches the manifests.",
        ]
    )


def _identities(scaffold: Scaffold) -> str:
    envs = scaffold.environments
    apps = [
        f"PLAN_APP=$(az ad app create --display-name {scaffold.stack}-plan --query appId -o tsv)"
    ]
    apps += [
        f"{_var(e)}_APP=$(az ad app create --display-name {scaffold.stack}-deploy-{e} "
        "--query appId -o tsv)"
        for e in envs
    ]
    every = " ".join(['"$PLAN_APP"', *(f'"${_var(e)}_APP"' for e in envs)])
    subjects = [
        'fic "$PLAN_APP" github-pull-request "repo:$OWNER_REPO:pull_request"   # plan.yml',
        'fic "$PLAN_APP" github-main "repo:$OWNER_REPO:ref:refs/heads/main"   # drift.yml, '
        "apply.yml's plans",
        *(
            f'fic "${_var(e)}_APP" github-env-{e} "repo:$OWNER_REPO:environment:{e}"   # apply.yml'
            for e in envs
        ),
    ]
    return "\n".join(
        [
            "# 2. Azure identities for GitHub Actions (OpenID Connect, no client secret): a",
            "#    read-only plan identity, and a deploy identity per environment.",
            "OWNER_REPO=your-org/your-repo                 # this repository on GitHub",
            "TENANT_ID=$(az account show --query tenantId -o tsv)",
            *apps,
            f'for app in {every}; do az ad sp create --id "$app"; done',
            _FIC,
            *subjects,
        ]
    )


def _roles(envs: Sequence[str]) -> str:
    places = [
        f"{_var(e)}_ACCOUNT=your-{e}-account {_var(e)}_PROJECT=your-{e}-project" for e in envs
    ]
    scopes = [
        f'{_var(e)}_SCOPE=$(project_scope "$SUB" "$RG" "${_var(e)}_ACCOUNT" "${_var(e)}_PROJECT")'
        for e in envs
    ]
    grants: list[str] = []
    for e in envs:
        for app in (f"{_var(e)}_APP", "PLAN_APP"):
            grants.append(
                f'az role assignment create --assignee "${app}" --role "{ROLE}" '
                f'--scope "${_var(e)}_SCOPE"'
            )
    return "\n".join(
        [
            f'# 3. The "{ROLE}" role (formerly "Azure AI User"; where the new name does not',
            f"#    resolve yet, use --role {ROLE_ID}) on each Foundry project.",
            "SUB=$(az account show --query id -o tsv)       # the projects' subscription",
            "RG=your-resource-group",
            *places,
            _SCOPE,
            *scopes,
            *grants,
        ]
    )


def _github(envs: Sequence[str]) -> str:
    endpoints = [
        f"gh secret set {endpoint_variable(e)} --body "
        f'"https://${_var(e)}_ACCOUNT.services.ai.azure.com/api/projects/${_var(e)}_PROJECT"'
        for e in envs
    ]
    environments = [
        line
        for e in envs
        for line in (
            f'gh api --method PUT "repos/$OWNER_REPO/environments/{e}" --silent',
            f'gh secret set AZURE_CLIENT_ID --env {e} --body "${_var(e)}_APP"',
        )
    ]
    return "\n".join(
        [
            "# 4. GitHub: the secrets the workflows read, one environment per project (its",
            "#    AZURE_CLIENT_ID is the deploy identity), and the label of drift issues.",
            'gh secret set AZURE_TENANT_ID --body "$TENANT_ID"',
            'gh secret set AZURE_PLAN_CLIENT_ID --body "$PLAN_APP"',
            *endpoints,
            *environments,
            'gh label create drift --description "Live project differs from git (opened by '
            'drift.yml)" --color D93F0B',
        ]
    )


def _first_pull_request(envs: Sequence[str]) -> str:
    last = envs[-1]
    return "\n".join(
        [
            "# 5. Commit on a branch and open a pull request: the plan check validates the",
            "#    manifests and comments the plan of every environment. After the merge, apply",
            f"#    deploys them in order; add required reviewers to the {last} environment",
            f"#    (Settings > Environments > {last}) so it waits for an approval.",
            "pre-commit install             # optional: validate the manifests on every commit",
            "git checkout -b routines && git add . && "
            "git commit -m 'Routines, managed by reconciler'",
            "git push -u origin routines && gh pr create --fill",
        ]
    )
