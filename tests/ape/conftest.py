"""Fixtures for `ape test tests/ape`: ape compiles contracts/ itself and deploys with its test accounts.

These tests prove the repository works for `ape console` / `ape run` users; the pytest suite proper
(`make test-py`) drives the same contracts through worker.chain and forge artifacts.
"""

import pytest

STAKE = 10 * 10**18


@pytest.fixture(scope="module")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def token(project, deployer):
    return deployer.deploy(project.OpenToken, deployer, 1_000_000 * 10**18)


@pytest.fixture(scope="module")
def registry(project, deployer, token):
    return deployer.deploy(project.DatanetRegistry, token, deployer)


@pytest.fixture(scope="module")
def contributor(accounts, token, deployer):
    account = accounts[1]
    token.transfer(account, 100 * STAKE, sender=deployer)
    return account


@pytest.fixture(scope="module")
def curator(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def treasury(accounts):
    return accounts[3]
