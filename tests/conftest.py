"""Shared fixtures that start Anvil and build/deploy the contracts (the one conftest that does so).

Everything here is opt-in and session-scoped, and importing this file is cheap: web3 and the chain
package are imported inside the fixtures, so tests of storage, data, training or attribution pay nothing.

- `contracts_built`: runs `forge build` (contracts only) once if an artifact under out/ is missing or older
  than its source.
- `anvil_rpc`: one Anvil for the session (free port, deterministic dev accounts).
- plugins `tinymodels` (tiny BERT/Llama checkpoints, toy records), `paidmodel` (a live paid model on the
  devnet, a server on loopback) and `workerworld` (a Datanet, a model and a training request for the
  worker and `verify job` tests), whose fixtures every folder sees.
- `devnet` / `admin_devnet`: a LocalChain each (two deployments on that Anvil: governance-only, and one
  whose deployer kept its admin roles), rewound with evm_snapshot/evm_revert around every test.
Names stay clear of ape's pytest fixtures (`chain`, `accounts`, `networks`, `project`): `ape test tests/ape`
loads this file too.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# The shared test helpers, loaded once as plugins: their fixtures (tiny models, live paid models, a
# server on loopback) are visible to every test folder without re-exporting them in each conftest.
pytest_plugins = ("tinymodels", "paidmodel", "workerworld", "pg")

if TYPE_CHECKING:
    from worker.chain.devnet import LocalChain

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_FILES = (
    "token/OpenToken",
    "governance/OpenTimelock",
    "governance/OpenGovernor",
    "datanet/DatanetRegistry",
    "model/WorkerRegistry",
    "model/ModelRegistry",
    "rewards/RewardVault",
)


def _artifacts_stale() -> bool:
    newest_source = max((p.stat().st_mtime for p in (ROOT / "contracts").rglob("*.sol")), default=0.0)
    for rel in CONTRACT_FILES:
        name = rel.rsplit("/", 1)[1]
        artifact = ROOT / "out" / f"{name}.sol" / f"{name}.json"
        if not artifact.is_file() or artifact.stat().st_mtime < newest_source:
            return True
    return False


@pytest.fixture(scope="session", autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """OPENLEDGER_HOME for the whole session: no test reads or writes the user's own state directory
    (the default home), whatever the developer's shell exports."""
    home = tmp_path_factory.mktemp("openledger-home")
    previous = os.environ.get("OPENLEDGER_HOME")
    os.environ["OPENLEDGER_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("OPENLEDGER_HOME", None)
    else:
        os.environ["OPENLEDGER_HOME"] = previous


@pytest.fixture(scope="session")
def contracts_built() -> Path:
    """out/ holds current artifacts of every protocol contract (forge build runs only when needed). The
    suite runs in parallel workers (`make test-py`): a file lock lets one of them build while the others
    wait for it."""
    ROOT.joinpath("cache").mkdir(exist_ok=True)
    with (ROOT / "cache" / "contracts-build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _artifacts_stale():
            forge = shutil.which("forge") or str(ROOT / "node_modules" / ".bin" / "forge")
            # The contracts only: Python tests never need the forge test suite compiled (nor wait for it).
            done = subprocess.run(
                [forge, "build", "--quiet", "--skip", "tests/**"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                pytest.fail(f"forge build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return ROOT / "out"


@pytest.fixture(scope="session")
def anvil_rpc(contracts_built: Path) -> Iterator[str]:
    from worker.chain.anvil import Anvil

    with Anvil() as anvil:
        yield anvil.rpc_url


@pytest.fixture(scope="session")
def deployments_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deployments")


def _local_chain(rpc_url: str, deployments_dir: Path | None, **config: Any) -> LocalChain:
    from worker.chain.connection import connect
    from worker.chain.deployment import DeploymentConfig
    from worker.chain.devnet import LocalChain

    return LocalChain.deploy(connect(rpc_url), DeploymentConfig(**config), deployments_dir)


@pytest.fixture(scope="session")
def governed_devnet(anvil_rpc: str, deployments_dir: Path) -> LocalChain:
    """The production wiring: only the timelock (through the governor) holds governance roles."""
    return _local_chain(anvil_rpc, deployments_dir)


@pytest.fixture(scope="session")
def admin_devnet_session(anvil_rpc: str, governed_devnet: LocalChain) -> LocalChain:
    """A second deployment whose deployer (account 0) keeps GOVERNANCE_ROLE: resolves without a vote."""
    return _local_chain(anvil_rpc, None, keep_deployer_admin=True)


def _isolated(chain: LocalChain) -> Iterator[LocalChain]:
    snapshot = chain.dev.snapshot()
    try:
        yield chain
    finally:
        chain.dev.revert(snapshot)


@pytest.fixture
def devnet(governed_devnet: LocalChain) -> Iterator[LocalChain]:
    """The governed deployment, rewound after the test."""
    yield from _isolated(governed_devnet)


@pytest.fixture
def admin_devnet(admin_devnet_session: LocalChain) -> Iterator[LocalChain]:
    """The admin-kept deployment, rewound after the test."""
    yield from _isolated(admin_devnet_session)


# The slowest file first: the README journey (~9 min: it trains, replays and verifies minilm three times)
# then starts at once on one worker while the others share the rest of the suite; collected in its turn it
# would start late and be the whole tail of the run (`make test-py` has xdist hand out files in this order:
# --no-loadscope-reorder, else it sorts them by their number of tests).
SLOWEST_FIRST = ("tests/cli/test_readme_journey.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(SLOWEST_FIRST))
