"""Copy crds/ into the chart (`make crds` runs this; tests/unit/test_chart_crds.py fails when
the chart's copies are stale).

- The operator's own CRDs (serving.mlops.dev) go to files/crds/ byte for byte:
  templates/crds.yaml renders them, so `helm upgrade` upgrades them.
- kopf's peering CRDs (kopf.dev) go to the chart's crds/ folder, which Helm installs before it
  renders anything else, and waits for: a fresh cluster gets them before the release's
  ClusterKopfPeering/KopfPeering object, which Helm could not even map without them. Helm skips
  a crds/ CRD that already exists (another kopf-based operator's), never upgrades or deletes it.
  kopf's peering CRDs do not change between our releases, so never upgrading them is harmless.
  Argo CD renders crds/ too (`helm template --include-crds`) and applies them like any other
  object: the copies carry Argo CD's annotations, which templates/crds.yaml adds to the others.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRDS = ROOT / "crds"
CHART = ROOT / "charts" / "serving-operator"
TEMPLATED = CHART / "files" / "crds"
HELM_CRDS = CHART / "crds"

# Argo CD: never prune these CRDs (pruning a CRD deletes every object of its kind; Argo CD does
# not treat helm.sh/resource-policy: keep as "do not prune", argo-cd#17819), and apply them in a
# wave before the resources that need them (Argo CD waits until a CRD is Established, its
# CustomResourceDefinition health check, before the next wave).
ARGOCD_ANNOTATIONS = (
    "  annotations:\n"
    "    argocd.argoproj.io/sync-options: Prune=false\n"
    '    argocd.argoproj.io/sync-wave: "-1"\n'
)


def helm_crd(source: str) -> str:
    """A crds/ file as the chart's crds/ folder holds it: with Argo CD's annotations."""
    head, sep, rest = source.partition("\nmetadata:\n")
    if not sep:
        raise ValueError("no top-level metadata in the CRD")
    return f"{head}{sep}{ARGOCD_ANNOTATIONS}{rest}"


def expected() -> dict[Path, str]:
    """Every file the chart should hold, by path, with its text."""
    files: dict[Path, str] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        text = path.read_text()
        if path.name.endswith(".kopf.dev.yaml"):
            files[HELM_CRDS / path.name] = helm_crd(text)
        else:
            files[TEMPLATED / path.name] = text
    return files


def main() -> int:
    for folder in (TEMPLATED, HELM_CRDS):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
    for path, text in expected().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
