"""``python -m reconciler.ci COMMAND``: the GitHub steps of the action and the reusable
workflows. Errors are one line on stderr (``error: ...``) and exit code 1; no traceback
(``RECONCILER_DEBUG=1`` shows one)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from reconciler import __version__
from reconciler.ci import CIError, comment, context, issue, outputs, release, schedule
from reconciler.ci.github import GitHub

Handler = Callable[[argparse.Namespace], None]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {self.prog}: {message} (see --help)\n")
        raise SystemExit(1)


def _comment(args: argparse.Namespace) -> None:
    gh = GitHub.from_env()
    repo = context.repository(args.repo)
    number = context.pull_request(args.pr)
    body = context.read_text(args.body_file, "the comment body")
    done = comment.sticky(gh, repo, number, marker=args.marker, body=body, login=args.author)
    print(f"{done.action} the <!-- {args.marker} --> comment on #{number}: {done.url}".rstrip())


def _drift_issue(args: argparse.Namespace) -> None:
    drifted = args.drifted == "true"
    if drifted and not args.report:
        raise CIError("--report FILE is required with --drifted true")
    report = context.read_text(args.report, "the drift report") if drifted else ""
    unhealthy = args.unhealthy == "true"
    if unhealthy and not args.health_report:
        raise CIError("--health-report FILE is required with --unhealthy true")
    health = context.read_text(args.health_report, "the health report") if unhealthy else ""
    warning = ""
    if args.warning_file and os.path.exists(args.warning_file):
        warning = context.read_text(args.warning_file, "the schedule warning")
    gh = GitHub.from_env()
    done = issue.track(
        gh,
        context.repository(args.repo),
        args.environment,
        drifted=drifted,
        report=report,
        unhealthy=unhealthy,
        health=health,
        label=args.label,
        run=args.run_url if args.run_url is not None else context.run_url(),
        warning=warning,
    )
    shown = f" #{done.number} {done.url}".rstrip() if done.number else ""
    print(f"tracking issue for {args.environment}: {done.action}{shown}")


def _schedule_check(args: argparse.Namespace) -> None:
    ref = args.workflow or os.environ.get("GITHUB_WORKFLOW_REF", "")
    if not ref:
        raise CIError("no workflow: pass --workflow FILE.yml (or set GITHUB_WORKFLOW_REF)")
    gh = GitHub.from_env()
    result = schedule.check(
        gh, context.repository(args.repo), schedule.workflow_file(ref), args.interval
    )
    warning = schedule.markdown(result)
    if args.warning_out:
        context.write_text(args.warning_out, warning, "the schedule warning")
    if result.stale:
        print(context.annotation("warning", schedule.message(result), "Drift check is late"))
        context.append_summary(warning)
    else:
        print(schedule.message(result))
    context.write_outputs([("stale", str(result.stale).lower())])


def _outputs(args: argparse.Namespace) -> None:
    found = outputs.pairs(args.pairs)
    if args.plan:
        found += outputs.from_plan(args.plan)
    if args.drift:
        found += outputs.from_drift(args.drift)
    if args.status:
        found += outputs.from_status(args.status)
    if not found:
        raise CIError(
            "nothing to output: give KEY=VALUE, --plan FILE, --drift FILE or --status FILE"
        )
    context.write_outputs(found)


def _split_args(args: argparse.Namespace) -> None:
    words = outputs.split_args(os.environ.get(args.from_env, ""))
    sys.stdout.write("".join(f"{word}\0" for word in words))


def _check_tag(args: argparse.Namespace) -> None:
    done = release.check_tag(args.tag, __version__)
    print(f"tag {done.tag} matches reconciler.__version__ {done.version}; major tag {done.major}")
    context.write_outputs([("version", done.version), ("major", done.major)])


def _move_tag(args: argparse.Namespace) -> None:
    gh = GitHub.from_env()
    done = release.move_tag(gh, context.repository(args.repo), args.tag, args.sha)
    print(f"{done} tag {args.tag} at {args.sha}")


def _add_comment(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("comment", help="create or update the sticky pull-request comment")
    p.add_argument("--marker", required=True, help="e.g. reconciler-plan: <!-- MARKER -->")
    p.add_argument("--body-file", required=True, help="markdown file with the comment")
    p.add_argument("--pr", type=int, help="pull request number (default: from the event)")
    p.add_argument("--author", help="login of our comments (default: the token's user)")
    p.add_argument("--repo", help="OWNER/NAME (default: $GITHUB_REPOSITORY)")
    p.set_defaults(handler=_comment)


def _add_drift_issue(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("drift-issue", help="open, update or close the drift tracking issue")
    p.add_argument("--environment", required=True)
    p.add_argument("--drifted", required=True, choices=["true", "false"])
    p.add_argument("--report", help="markdown report (drift --markdown-out)")
    p.add_argument("--unhealthy", default="false", choices=["true", "false"])
    p.add_argument("--health-report", help="markdown health report (status --markdown-out)")
    p.add_argument("--label", default="drift", help="label of the issue (default: drift)")
    p.add_argument("--run-url", help="link in the issue (default: this workflow run)")
    p.add_argument("--warning-file", help="schedule warning to put first, if the file exists")
    p.add_argument("--repo", help="OWNER/NAME (default: $GITHUB_REPOSITORY)")
    p.set_defaults(handler=_drift_issue)


def _add_schedule_check(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("schedule-check", help="warn when scheduled runs stopped or are late")
    p.add_argument("--expected-interval-hours", dest="interval", type=float, default=24.0)
    p.add_argument("--workflow", help="workflow file or id (default: $GITHUB_WORKFLOW_REF)")
    p.add_argument("--warning-out", help="write the markdown warning here ('' when fresh)")
    p.add_argument("--repo", help="OWNER/NAME (default: $GITHUB_REPOSITORY)")
    p.set_defaults(handler=_schedule_check)


def _add_small(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("outputs", help="write step outputs to $GITHUB_OUTPUT")
    p.add_argument("pairs", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--plan", help="plan JSON: has-changes and plan-json")
    p.add_argument("--drift", help="drift JSON: drift=true|false")
    p.add_argument("--status", help="status JSON: unhealthy=true|false")
    p.set_defaults(handler=_outputs)
    p = sub.add_parser("split-args", help="split $NAME like a shell, NUL-terminated words")
    p.add_argument("--from-env", required=True, metavar="NAME")
    p.set_defaults(handler=_split_args)
    p = sub.add_parser("check-tag", help="the tag must be v<reconciler.__version__>")
    p.add_argument("tag")
    p.set_defaults(handler=_check_tag)
    p = sub.add_parser("move-tag", help="point a major tag (v1) at a commit")
    p.add_argument("tag")
    p.add_argument("--sha", required=True)
    p.add_argument("--repo", help="OWNER/NAME (default: $GITHUB_REPOSITORY)")
    p.set_defaults(handler=_move_tag)


def parser() -> _Parser:
    top = _Parser(prog="python -m reconciler.ci", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_comment, _add_drift_issue, _add_schedule_check, _add_small):
        add(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        handler(args)
    except CIError as err:
        sys.stderr.write(f"error: {' '.join(str(err).split())}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        if os.environ.get("RECONCILER_DEBUG"):
            raise
        sys.stderr.write(f"error: unexpected {type(err).__name__}: {' '.join(str(err).split())}\n")
        return 1
    return 0
