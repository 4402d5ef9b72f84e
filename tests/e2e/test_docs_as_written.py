"""The docs' command blocks, run as written: a step that breaks for a user fails here.

Every ```sh block of README's "Running it" and of docs/first-five-minutes.md, upgrades.md,
gitops.md and uninstall.md belongs to a scenario below (tests/unit/test_doc_blocks.py fails
when one does not). A scenario runs its blocks in bash, one after another, in a working
directory that looks like a checkout (charts/, crds/, examples/), against a control plane of
its own (the chart installs cluster-wide CRDs), with:

- kubectl, helm and serving-operator on PATH, and nothing else of ours (no pip);
- the user's kubeconfig: the cluster's admin;
- AWS: the sandbox (AWS_ENDPOINT_URL, which is all the sandbox needs), credentials in the
  shared credentials file under `default` and under `my-profile` (first-five-minutes.md's);
- the chart's pods as local processes (tests/support/localpods.py): there is no kubelet and no
  Docker here, so where a doc would run the operator in a pod, `serving-operator run` runs
  with the Deployment's arguments and environment as its ServiceAccount;
- variables exported by a block kept for the next ones.

A block's status must be 0, or what its `<!-- doc-test: exits N -->` marker says; its output
must hold each `prints "..."` text. A block marked `<!-- doc-test: stand-in -->` has lines that
cannot run here: STAND_INS replaces exactly those lines and says why; every other line runs as
written. `given` steps set up what a page assumes (a release of an older chart, Argo CD's
ConfigMap); `then` steps check what the page promises.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import kubernetes
import pytest
import yaml

from serving_operator.aws.ratelimit import DEFAULT_RATES, parse_rates
from tests.e2e.test_chart import CHART, tool
from tests.support import cluster, controlplane, processes
from tests.support import sandbox as sandbox_support
from tests.support.docblocks import Block, shell_blocks
from tests.support.localpods import LocalPods
from tests.support.paths import ROOT, VENV_BIN

pytestmark = pytest.mark.e2e

# The pages whose blocks a user is told to run, and the section of each that holds them.
PAGES: dict[str, str | None] = {
    "README.md": "Running it",
    "docs/first-five-minutes.md": None,
    "docs/upgrades.md": None,
    "docs/gitops.md": None,
    "docs/uninstall.md": None,
}

# Lines of stand-in blocks that cannot run here, what runs instead, and why.
STAND_INS: dict[str, tuple[str, str]] = {
    "pip install serving-operator            # the CLI and the operator": (
        "serving-operator version",
        "the package under test is this checkout, installed in the test environment;"
        " PyPI is not asked for it",
    ),
    "pip install kubernetes                  # only if your kubeconfig runs an exec plugin (EKS)": (
        '"$DOC_PYTHON" -c "import kubernetes"',
        "the test environment has it from the lock; the kubeconfig here uses a token",
    ),
    "pip install .": (
        "serving-operator version",
        "this checkout is installed in the test environment already (from the hashed lock)",
    ),
    "serving-operator run                # all namespaces; -n NS to watch only some": (
        'serving-operator run --metrics-port "$DOC_METRICS_PORT"'
        ' --liveness "http://127.0.0.1:$DOC_LIVENESS_PORT/healthz"'
        ' >"$DOC_WORKDIR/run.log" 2>&1 & echo $! >"$DOC_WORKDIR/run.pid"',
        "it runs until stopped: here in the background on free ports, stopped by the test",
    ),
}


def page_blocks(page: str) -> list[Block]:
    return shell_blocks(ROOT, page, section=PAGES[page])


@dataclass
class Doc:
    page: str
    index: int


@dataclass
class Given:
    script: str


@dataclass
class Then:
    check: Callable[[Run], None]


Step = Doc | Given | Then


@dataclass
class Run:
    """One scenario's shell, cluster and pods."""

    workdir: Path
    plane: controlplane.ControlPlane
    sandbox: sandbox_support.Sandbox
    pods: LocalPods
    env: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> kubernetes.client.ApiClient:
        return cluster.api_client(self.plane.kubeconfig(controlplane.ADMIN_USER))

    def bash(
        self, script: str, where: str, *, status: int = 0, timeout: float = 400
    ) -> subprocess.CompletedProcess[str]:
        wrapped = (
            "set -eo pipefail\n"
            'if [ -f "$DOC_STATE" ]; then . "$DOC_STATE"; fi\n'
            "trap 'export -p >\"$DOC_STATE\"' EXIT\n" + script
        )
        done = subprocess.run(
            ["/bin/bash", "-c", wrapped],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        output = done.stdout + done.stderr
        assert done.returncode == status, (
            f"{where}: exit status {done.returncode}, expected {status}\n{script}\n{output}"
            + (f"\nlocal pods: {self.pods.errors}" if self.pods.errors else "")
        )
        return done

    def doc(self, block: Block) -> None:
        script = block.text
        if block.stand_in:
            lines = []
            for line in block.text.splitlines():
                replaced = STAND_INS.get(line.rstrip())
                lines.append(replaced[0] if replaced else line)
            script = "\n".join(lines) + "\n"
        done = self.bash(script, block.where, status=block.exit_status)
        for text in block.prints:
            assert text in done.stdout + done.stderr, f"{block.where}: no {text!r} in\n{done}"


def crd_names(run: Run) -> set[str]:
    ext = kubernetes.client.ApiextensionsV1Api(run.admin)
    return {crd.metadata.name for crd in ext.list_custom_resource_definition().items}


def serving_crds(run: Run) -> set[str]:
    return {n for n in crd_names(run) if n.endswith(".serving.mlops.dev")}


def an_operator_runs(run: Run) -> None:
    processes.wait_until(
        lambda: any(p.alive() for p in run.pods.processes()) or bool(run.pods.errors),
        timeout=120,
        what="the chart's operator to start",
    )
    assert not run.pods.errors, run.pods.errors


def no_operator_runs(run: Run) -> None:
    """What a user sees before the next step: the chart's pods gone (kubectl get pods)."""
    processes.wait_until(
        lambda: not run.pods.processes(), timeout=60, what="the chart's operator to stop"
    )


def the_checkouts_operator_runs(run: Run) -> None:
    url = f"http://127.0.0.1:{run.env['DOC_LIVENESS_PORT']}/healthz"
    log = run.workdir / "run.log"

    def alive() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    processes.wait_until(alive, timeout=90, what="serving-operator run", log=log)


def crds_belong_to(release: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        ext = kubernetes.client.ApiextensionsV1Api(run.admin)
        for name in sorted(serving_crds(run)):
            annotations = ext.read_custom_resource_definition(name).metadata.annotations
            assert annotations["meta.helm.sh/release-name"] == release, name
        assert len(serving_crds(run)) == 4

    return check


def new_defaults_and_old_values_reach_the_deployment(run: Run) -> None:
    deployment = kubernetes.client.AppsV1Api(run.admin).read_namespaced_deployment(
        "serving-serving-operator", "serving-operator"
    )
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}
    assert env["AWS_REGION"] == "eu-west-1"  # set at install time, kept
    assert parse_rates(env["SERVING_OPERATOR_AWS_RATE_LIMITS"]) == dict(DEFAULT_RATES)


def the_crd_is_this_versions(run: Run) -> None:
    crd = kubernetes.client.ApiextensionsV1Api(run.admin).read_custom_resource_definition(
        "modelendpoints.serving.mlops.dev"
    )
    spec = crd.spec.versions[0].schema.open_apiv3_schema.properties["spec"]
    assert "deletionPolicy" in spec.properties


def no_serving_crds_left(run: Run) -> None:
    processes.wait_until(lambda: not serving_crds(run), timeout=60, what="the CRDs to go")


def the_endpoint_is_gone_from_aws(run: Run) -> None:
    names = [
        e["EndpointName"] for e in run.sandbox.client("sagemaker").list_endpoints()["Endpoints"]
    ]
    assert "xgboost-bikerental" not in names


def the_endpoint_stays_in_aws(run: Run) -> None:
    names = [
        e["EndpointName"] for e in run.sandbox.client("sagemaker").list_endpoints()["Endpoints"]
    ]
    assert "xgboost-bikerental" in names  # as the page warns: delete it in AWS yourself
    run.sandbox.client("sagemaker").delete_endpoint(EndpointName="xgboost-bikerental")


def older_chart(run: Run) -> None:
    """The chart as released before per-service AWS rate limits: no aws.rateLimits value."""
    old = run.workdir / "old-chart"
    shutil.copytree(CHART, old)
    values = yaml.safe_load((old / "values.yaml").read_text())
    del values["aws"]["rateLimits"]
    (old / "values.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    (old / "values.schema.json").unlink()


def stale_crd_file(run: Run) -> None:
    crd = yaml.safe_load((ROOT / "crds" / "modelendpoints.serving.mlops.dev.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"].pop("deletionPolicy")
    (run.workdir / "old-crd.yaml").write_text(yaml.safe_dump(crd))


INSTALL = Given(
    "helm upgrade --install serving charts/serving-operator -n serving-operator"
    " --create-namespace --set aws.region=us-east-1\n"
)
EXAMPLE_READY = Given(
    "kubectl apply -f examples/xgboost-bikerental.yaml\n"
    "kubectl wait --for=condition=Ready modelendpoint/xgboost-bikerental --timeout=180s\n"
)
FFM, UP, GITOPS, UNINSTALL = (
    "docs/first-five-minutes.md",
    "docs/upgrades.md",
    "docs/gitops.md",
    "docs/uninstall.md",
)

SCENARIOS: dict[str, list[Step]] = {
    "readme-helm": [Doc("README.md", 0), Then(an_operator_runs)],
    "readme-checkout": [Doc("README.md", 1), Then(the_checkouts_operator_runs)],
    "first-five-minutes": [
        Doc(FFM, 0),
        Doc(FFM, 1),
        Doc(FFM, 2),
        Then(crds_belong_to("serving")),
        Doc(FFM, 4),
    ],
    "first-five-minutes-crds-applied-by-hand": [
        # The old step 4: CRDs applied by hand, then the chart. Helm refuses them...
        Given(
            "export AWS_REGION=us-east-1\n"
            "serving-operator crds | kubectl apply --server-side -f -\n"
            "! helm upgrade --install serving charts/serving-operator --namespace serving-operator"
            " --create-namespace --set aws.region=$AWS_REGION >helm.out 2>&1\n"
            'grep -q "invalid ownership metadata" helm.out\n'
        ),
        # ...until the page's --take-ownership.
        Doc(FFM, 3),
        Then(crds_belong_to("serving")),
    ],
    "upgrade-with-helm": [
        Then(older_chart),
        Given(
            'helm install serving "$DOC_WORKDIR/old-chart" -n serving-operator'
            " --create-namespace --set aws.region=eu-west-1\n"
        ),
        Doc(UP, 0),
        Then(new_defaults_and_old_values_reach_the_deployment),
        Doc(UP, 2),
    ],
    "upgrade-without-helm": [
        Then(stale_crd_file),
        Given("kubectl apply --server-side -f old-crd.yaml\n"),
        Doc(UP, 1),
        Then(the_crd_is_this_versions),
    ],
    "gitops": [
        INSTALL,
        Given("kubectl create namespace argocd\nkubectl -n argocd create configmap argocd-cm\n"),
        Doc(GITOPS, 0),
        Doc(GITOPS, 1),
        Doc(GITOPS, 2),
    ],
    "uninstall-in-order": [
        INSTALL,
        EXAMPLE_READY,
        Doc(UNINSTALL, 0),
        Then(the_endpoint_is_gone_from_aws),
        Doc(UNINSTALL, 1),
        Doc(UNINSTALL, 2),
        Doc(UNINSTALL, 3),
        Then(no_serving_crds_left),
    ],
    "uninstall-after-the-operator": [
        INSTALL,
        EXAMPLE_READY,
        Doc(UNINSTALL, 1),
        Then(no_operator_runs),
        Given("kubectl delete mlserving --all --all-namespaces --wait=false\n"),
        Doc(UNINSTALL, 4),
        Then(no_serving_crds_left),
        Then(the_endpoint_stays_in_aws),
    ],
    "uninstall-then-install-under-another-name": [
        INSTALL,
        Doc(UNINSTALL, 1),
        Doc(UNINSTALL, 5),
        Then(crds_belong_to("models")),
    ],
}


@pytest.fixture(scope="module")
def docs_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sandbox_support.Sandbox]:
    """A sandbox of this module's own: the docs use the examples' fixed AWS names."""
    box = sandbox_support.start(
        tmp_path_factory.mktemp("docs-sandbox"),
        {"creatingSeconds": 1.5, "updatingSeconds": 1.5, "deletingSeconds": 1},
    )
    try:
        sandbox_support.upload_demo_artifacts(box)
        yield box
        missing = sandbox_support.calls_missing_from_the_policy(box)
        assert not missing, f"the operator called actions docs/iam-policy.json lacks: {missing}"
    finally:
        box.stop()


def workspace(
    tmp_path: Path, plane: controlplane.ControlPlane, box: sandbox_support.Sandbox
) -> dict[str, str]:
    work = tmp_path / "checkout"
    work.mkdir()
    for name in ("charts", "crds", "examples"):
        (work / name).symlink_to(ROOT / name)
    (work / "body.csv").write_text("3,0,1,9.84,14.395,81,0\n")  # the user's request body
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("kubectl", "helm"):
        (tools / name).symlink_to(tool(name))
    (tools / "serving-operator").symlink_to(VENV_BIN / "serving-operator")
    home = tmp_path / "home"
    home.mkdir()
    config, credentials = home / "aws-config", home / "aws-credentials"
    config.write_text("[default]\nregion = us-east-1\n\n[profile my-profile]\nregion = us-east-1\n")
    keys = "aws_access_key_id = testing\naws_secret_access_key = testing\n"
    credentials.write_text(f"[default]\n{keys}\n[my-profile]\n{keys}")
    return {
        "PATH": f"{tools}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "KUBECONFIG": str(plane.kubeconfig(controlplane.ADMIN_USER)),
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": box.url,
        "DOC_STATE": str(tmp_path / "state.sh"),
        "DOC_WORKDIR": str(work),
        "DOC_PYTHON": str(VENV_BIN / "python"),
        "DOC_METRICS_PORT": str(processes.free_port()),
        "DOC_LIVENESS_PORT": str(processes.free_port()),
    }


def stop_background_operator(work: Path) -> None:
    pid_file = work / "run.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_docs_run_as_written(
    name: str, tmp_path: Path, docs_sandbox: sandbox_support.Sandbox
) -> None:
    plane = controlplane.start(tmp_path / "controlplane")
    try:
        env = workspace(tmp_path, plane, docs_sandbox)
        with LocalPods(plane, tmp_path / "pods", docs_sandbox.env) as pods:
            run = Run(Path(env["DOC_WORKDIR"]), plane, docs_sandbox, pods, env)
            try:
                for index, step in enumerate(SCENARIOS[name]):
                    if isinstance(step, Doc):
                        run.doc(page_blocks(step.page)[step.index])
                    elif isinstance(step, Given):
                        run.bash(step.script, f"{name}, given step {index}")
                    else:
                        step.check(run)
            finally:
                stop_background_operator(run.workdir)
            assert not pods.errors, pods.errors
    finally:
        plane.stop()
