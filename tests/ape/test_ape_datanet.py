"""The Datanet journey through ape: deploy, create, contribute, curate, publish, with custom errors."""

import ape

STAKE = 10 * 10**18  # must match conftest.STAKE

POLICY = (STAKE, 3600, 2_500)  # stake, review period (s), slash 25% on rejection


def _create(registry, deployer, treasury, curator) -> int:
    receipt = registry.createDatanet("bafkreimeta", treasury, POLICY, [curator], sender=deployer)
    return receipt.events[-1].datanetId


def test_contribute_and_reject_slashes_to_treasury(registry, token, deployer, contributor, curator, treasury):
    datanet_id = _create(registry, deployer, treasury, curator)
    token.approve(registry, STAKE, sender=contributor)
    receipt = registry.contribute(datanet_id, "bafkreicontent1", 1234, 10, sender=contributor)
    contribution_id = receipt.events.filter(registry.ContributionSubmitted)[0].contributionId

    before = token.balanceOf(contributor)
    registry.review(contribution_id, False, "bafkreireason", sender=curator)

    assert token.balanceOf(treasury) == STAKE // 4
    assert token.balanceOf(contributor) - before == STAKE - STAKE // 4
    assert registry.getContribution(contribution_id).status == 3  # Rejected


def test_only_curators_review(registry, token, deployer, contributor, curator, treasury):
    datanet_id = _create(registry, deployer, treasury, curator)
    token.approve(registry, STAKE, sender=contributor)
    registry.contribute(datanet_id, "bafkreicontent2", 99, 1, sender=contributor)
    contribution_id = registry.contributionCount()

    with ape.reverts(registry.NotCurator):
        registry.review(contribution_id, True, "", sender=contributor)


def test_publish_version(registry, token, deployer, contributor, curator, treasury):
    datanet_id = _create(registry, deployer, treasury, curator)
    token.approve(registry, STAKE, sender=contributor)
    registry.contribute(datanet_id, "bafkreicontent3", 500, 5, sender=contributor)
    registry.review(registry.contributionCount(), True, "", sender=curator)

    registry.publishVersion(datanet_id, b"\x11" * 32, "bafkreimanifest", 5, 1, sender=deployer)

    assert registry.versionCount(datanet_id) == 1
    assert registry.getVersion(datanet_id, 1).manifestCid == "bafkreimanifest"
