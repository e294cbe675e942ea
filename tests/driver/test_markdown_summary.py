"""The Markdown summary of a run, as posted on a pull request."""
from __future__ import annotations

from stacks.changes import ChangeCollector, ResourceChange, StackChanges
from stacks.markdown import MARKER, MAX_LISTED, Report, render


def change(action: str, name: str, type_token: str = "aws:ecs/service:Service", *properties: str) -> ResourceChange:
    return ResourceChange(action, type_token, name, f"urn:pulumi:dev-app::cloud-patterns::{type_token}::{name}",
                          properties)


def test_per_stack_counts_then_resources_by_name_then_failures_then_extra_sections():
    report = Report("Pulumi preview: dev", [
        StackChanges("dev-network", []),
        StackChanges("dev-app", [change("delete", "old-queue", "aws:sqs/queue:Queue"),
                                 change("create", "worker"),
                                 change("update", "api", "aws:ecs/service:Service", "desiredCount", "tags"),
                                 change("replace", "bucket", "aws:s3/bucket:Bucket", "bucket")]),
        StackChanges("dev-proxy", status="failed", error="creating Lambda: AccessDenied\nsecond line"),
        StackChanges("dev-web", status="skipped", error="dev-proxy failed"),
    ], intro="Cloud preview.")
    report.add_section("Cost", "| Stack | Monthly |\n|---|--:|\n| dev-app | $12.00 |")
    text = render(report)
    lines = text.splitlines()

    assert lines[:4] == [MARKER, "### Pulumi preview: dev", "", "Cloud preview."]
    assert "**4 resource changes** in 4 stacks: 1 to create, 1 to update, 1 to replace, 1 to delete" in lines
    assert "| `dev-network` | 0 | 0 | 0 | 0 | ✅ succeeded |" in lines
    assert "| `dev-app` | 1 | 1 | 1 | 1 | ✅ succeeded |" in lines
    assert "| `dev-proxy` | – | – | – | – | ❌ failed |" in lines
    assert "| `dev-web` | – | – | – | – | ⏭️ skipped |" in lines

    app = text.split("<summary><b>dev-app</b>: 1 to create, 1 to update, 1 to replace, 1 to delete</summary>")[1]
    app = app.split("</details>")[0].strip().splitlines()
    assert app == ["**Create**", "", "- `worker` (aws:ecs/service:Service)", "",
                   "**Update**", "", "- `api` (aws:ecs/service:Service) — `desiredCount`, `tags`", "",
                   "**Replace**", "", "- `bucket` (aws:s3/bucket:Bucket) — `bucket`", "",
                   "**Delete**", "", "- `old-queue` (aws:sqs/queue:Queue)"]
    proxy = text.split("<details open><summary><b>dev-proxy</b>: failed</summary>")[1].split("</details>")[0]
    assert proxy.strip().splitlines() == ["```text", "creating Lambda: AccessDenied", "second line", "```"]
    assert "<b>dev-network</b>" not in text  # nothing to show for a stack without changes
    assert text.index("#### Cost") > text.index("dev-web")  # appended sections come last
    assert text.endswith("| dev-app | $12.00 |\n")


def test_long_lists_are_cut_and_table_cells_are_escaped():
    many = [change("create", f"subnet-{i:03}", "aws:ec2/subnet:Subnet") for i in range(MAX_LISTED + 5)]
    text = render(Report("Big", [StackChanges("dev-network", many, note="new | stack")]))
    assert text.count("- `subnet-") == MAX_LISTED
    assert "- … and 5 more" in text
    assert "✅ succeeded (new \\| stack) |" in text


def test_an_error_holding_a_code_fence_does_not_break_out_of_its_block():
    text = render(Report("t", [StackChanges("dev-x", status="failed", error="```\nrm -rf\n```")]))
    assert "~~~~text\n```\nrm -rf\n```\n~~~~" in text


def test_a_replacement_announced_in_several_steps_is_one_change_with_its_keys():
    collector = ChangeCollector()
    urn = "urn:pulumi:dev-network::cloud-patterns::aws:ec2/subnet:Subnet::public-1"
    collector.step("create-replacement", urn, "aws:ec2/subnet:Subnet", ["cidrBlock"])
    collector.step("replace", urn, "aws:ec2/subnet:Subnet", ["cidrBlock", "availabilityZone"])
    collector.step("delete-replaced", urn, "aws:ec2/subnet:Subnet", None)
    collector.step("same", "urn:pulumi:dev-network::cloud-patterns::aws:ec2/vpc:Vpc::vpc", "aws:ec2/vpc:Vpc")
    collector.step("create", "urn:pulumi:dev-network::cloud-patterns::pulumi:providers:aws::default", "pulumi:providers:aws")
    assert collector.changes() == [ResourceChange("replace", "aws:ec2/subnet:Subnet", "public-1", urn,
                                                  ("cidrBlock", "availabilityZone"))]
