"""Every Terraform root and module is found by its files; a change selects the folders it
touches and the roots that call a changed or removed module (issue 10, kind 5)."""

from __future__ import annotations

import pytest

from release_assets.core.terraform_dirs import select_terraform, terraform_folders

ROOT = "terraform/envs/prod"
MODULE = "terraform/modules/landing_bucket"
FILES = {
    f"{ROOT}/main.tf": 'module "landing_bucket" {\n  source = "../../modules/landing_bucket"\n}\n',
    f"{ROOT}/.terraform/modules/x/main.tf": "",
    f"{MODULE}/main.tf": 'module "kms" {\n  source = "./kms"\n}\n',
    f"{MODULE}/kms/main.tf": 'resource "aws_kms_key" "k" {}\n',
    f"{MODULE}/templates/policy.json": "{}",
    "terraform/modules/unused/main.tf": "",
    "terraform/README.md": "",
    "dags/ingest.py": "",
}
KMS = f"{MODULE}/kms"


def _select(changed: list[str] | None, files: dict[str, str] = FILES) -> dict[str, str]:
    return select_terraform(sorted(files), changed, lambda rel: files.get(rel, ""))


def test_every_folder_holding_tf_files_is_found_without_declaring_it() -> None:
    assert terraform_folders(FILES) == [ROOT, MODULE, KMS, "terraform/modules/unused"]
    assert list(_select(None)) == [ROOT, MODULE, KMS, "terraform/modules/unused"]


@pytest.mark.parametrize(
    ("changed", "selected"),
    [
        ([f"{ROOT}/main.tf"], {ROOT: "changed"}),
        (
            [f"{MODULE}/templates/policy.json"],
            {ROOT: f"uses the changed module {MODULE}", MODULE: "changed"},
        ),
        (  # transitively: kms -> landing_bucket -> prod
            [f"{KMS}/main.tf"],
            {
                ROOT: f"uses the changed module {MODULE}",
                MODULE: f"uses the changed module {KMS}",
                KMS: "changed",
            },
        ),
        (["terraform/README.md", "dags/ingest.py"], {}),
    ],
)
def test_a_change_selects_its_folder_and_the_roots_calling_it(
    changed: list[str], selected: dict[str, str]
) -> None:
    assert _select(changed) == selected


def test_a_removed_module_selects_the_roots_still_calling_it() -> None:
    files = {f: t for f, t in FILES.items() if not f.startswith(f"{MODULE}/kms/")}

    assert _select([f"{KMS}/main.tf"], files) == {
        ROOT: f"uses the changed module {MODULE}",
        MODULE: f"uses the removed module {KMS}",
    }
