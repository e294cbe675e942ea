"""Stack ``<env>-dashboard``: the environment's CloudWatch dashboard, downstream of every pattern stack.

Each upstream stack of its stack file (``cloud-patterns:upstream``) exports ``dashboard_widgets``; the dashboard
shows them in the order the file lists them, under the stack's name. A pattern stack added to the environment is
added there too (``tests/operations`` fails until it is).
"""
import pulumi
import pulumi_aws as aws

from components.dashboard import OUTPUT, Dashboard, DashboardArgs
from programs.common import Section, environment, upstream, upstream_stacks

DASHBOARD = Section("dashboard", DashboardArgs)


def main() -> None:
    sections = [(stack, upstream(alias).require_output(OUTPUT)) for alias, stack in upstream_stacks().items()]
    board = Dashboard(f"{environment()}-cloud-patterns", DASHBOARD.load(sections=sections))
    region = aws.get_region_output().region
    pulumi.export("dashboard_name", board.dashboard.dashboard_name)
    pulumi.export("url", pulumi.Output.concat("https://", region, ".console.aws.amazon.com/cloudwatch/home?region=",
                                              region, "#dashboards/dashboard/", board.dashboard.dashboard_name))
    pulumi.export("stacks", list(upstream_stacks().values()))
