// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ChallengeSettlement} from "../common/ChallengeSettlement.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IRewardVault} from "../interfaces/IRewardVault.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title RewardVault
/// @notice Takes inference payments, splits them (treasury, model owner, compute provider: credited;
///         contributors: the model's pool), and pays each pool out through challengeable epoch Merkle
///         roots that contributors claim against.
/// @dev Solvency: a root reserves its `total` from the pool's unreserved balance when posted, claims
///      draw down both `balance` and `reserved`, and an epoch can never pay more than its `total`.
///      Needs SLASHER_ROLE on the WorkerRegistry (locks the poster's stake until finalization, slashes
///      it on an upheld challenge). Challenge parameters, credited payouts and the upheld-challenge
///      settlement come from {ChallengeSettlement}.
contract RewardVault is IRewardVault, ChallengeSettlement {
    using SafeERC20 for IERC20;

    struct Pool {
        uint256 balance;
        uint256 reserved;
    }

    IModelRegistry public immutable modelRegistry;

    /// @inheritdoc IRewardVault
    uint256 public paymentCount;
    /// @inheritdoc IRewardVault
    mapping(uint256 modelId => uint64) public nextEpoch;

    FeeSplit private _feeSplit =
        FeeSplit({treasuryBps: 1_000, ownerBps: 2_000, providerBps: 2_000, contributorsBps: 5_000});
    mapping(uint256 modelId => Pool) private _pools;
    mapping(uint256 modelId => mapping(uint64 epoch => Epoch)) private _epochs;
    mapping(uint256 modelId => mapping(uint64 epoch => mapping(bytes32 leaf => bool))) private _leafClaimed;

    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNANCE_ROLE (the timelock in deployments).
    constructor(
        IERC20 token_,
        IModelRegistry modelRegistry_,
        IWorkerRegistry workerRegistry_,
        address treasury_,
        address admin
    ) ChallengeSettlement(token_, workerRegistry_, treasury_, admin) {
        if (address(modelRegistry_) == address(0)) revert ZeroAddress();
        modelRegistry = modelRegistry_;
    }

    // ------------------------------------------------------------------ payments

    /// @inheritdoc IRewardVault
    function payForInference(uint256 modelId, uint256 requestCount, bytes32 requestRef)
        external
        nonReentrant
        returns (uint256 paymentId)
    {
        (bool live, uint256 price, address owner, address provider) = modelRegistry.paymentTerms(modelId);
        if (!live) revert ModelNotLive(modelId);
        if (requestCount == 0) revert ZeroAmount();
        uint256 amount = price * requestCount;
        paymentId = ++paymentCount;
        uint256[4] memory shares = _splitAndCredit(modelId, amount, owner, provider);
        emit InferencePaid(
            paymentId, modelId, msg.sender, requestCount, amount, requestRef, shares[0], shares[1], shares[2], shares[3]
        );
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ------------------------------------------------------------------ epochs

    /// @inheritdoc IRewardVault
    function postEpochRoot(uint256 modelId, uint64 epoch, bytes32 root, uint256 total, string calldata reportCid)
        external
    {
        address provider = modelRegistry.computeProviderOf(modelId);
        if (provider == address(0)) revert ModelNotLive(modelId);
        if (msg.sender != provider) revert NotComputeProvider(modelId, msg.sender);
        uint64 next = nextEpoch[modelId];
        if (epoch > next) revert EpochOutOfOrder(modelId, epoch, next);
        Epoch storage e = _epochs[modelId][epoch];
        if (e.status != EpochStatus.None) revert EpochAlreadyPosted(modelId, epoch);
        if (root == bytes32(0)) revert EmptyField("root");
        if (total == 0) revert ZeroAmount();
        if (bytes(reportCid).length == 0) revert EmptyField("reportCid");
        Pool storage p = _pools[modelId];
        uint256 available = p.balance - p.reserved;
        if (total > available) revert InsufficientPool(modelId, available, total);

        p.reserved += total;
        if (epoch == next) nextEpoch[modelId] = next + 1;
        uint64 deadline = uint64(block.timestamp) + challengeWindow;
        e.root = root;
        e.total = total;
        e.reportCid = reportCid;
        e.poster = msg.sender;
        e.postedAt = uint64(block.timestamp);
        e.challengeDeadline = deadline;
        e.status = EpochStatus.Posted;
        emit EpochPosted(modelId, epoch, msg.sender, root, total, reportCid, deadline);
        workerRegistry.lock(msg.sender);
    }

    /// @inheritdoc IRewardVault
    function challengeEpoch(uint256 modelId, uint64 epoch, string calldata reasonCid) external nonReentrant {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Posted);
        if (block.timestamp > e.challengeDeadline) {
            revert ChallengeWindowClosed(modelId, epoch, e.challengeDeadline);
        }
        if (bytes(reasonCid).length == 0) revert EmptyField("reasonCid");
        uint256 bond = challengeBond;
        e.status = EpochStatus.Challenged;
        e.challenger = msg.sender;
        e.challengeBond = bond;
        emit EpochChallenged(modelId, epoch, msg.sender, bond, reasonCid);
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IRewardVault
    function resolveEpochChallenge(uint256 modelId, uint64 epoch, bool upheld)
        external
        onlyRole(GOVERNANCE_ROLE)
        nonReentrant
    {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Challenged);
        address challenger = e.challenger;
        uint256 bond = e.challengeBond;
        if (!upheld) {
            e.status = EpochStatus.Posted;
            e.challenger = address(0);
            e.challengeBond = 0;
            _credit(treasury, bond);
            emit EpochChallengeResolved(modelId, epoch, false, challenger, 0, 0, bond);
            return;
        }
        address poster = e.poster;
        _pools[modelId].reserved -= e.total;
        delete _epochs[modelId][epoch];
        (uint256 slashed, uint256 challengerPayout, uint256 treasuryPayout) = _creditUpheld(poster, challenger, bond);
        emit EpochChallengeResolved(modelId, epoch, true, challenger, slashed, challengerPayout, treasuryPayout);
        _slashAndUnlock(poster, slashed);
    }

    /// @inheritdoc IRewardVault
    function finalizeEpoch(uint256 modelId, uint64 epoch) external {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Posted);
        if (block.timestamp <= e.challengeDeadline) revert ChallengeWindowOpen(modelId, epoch, e.challengeDeadline);
        e.status = EpochStatus.Finalized;
        emit EpochFinalized(modelId, epoch);
        workerRegistry.unlock(e.poster);
    }

    /// @inheritdoc IRewardVault
    function claim(uint256 modelId, uint64 epoch, address account, uint256 amount, bytes32[] calldata proof)
        external
        nonReentrant
    {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Finalized);
        if (account == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        bytes32 leaf = _leaf(account, amount);
        if (_leafClaimed[modelId][epoch][leaf]) revert AlreadyClaimed(modelId, epoch, account, amount);
        if (!MerkleProof.verifyCalldata(proof, e.root, leaf)) revert InvalidProof(modelId, epoch, account, amount);
        uint256 claimedAfter = e.claimed + amount;
        if (claimedAfter > e.total) revert EpochTotalExceeded(modelId, epoch, e.claimed, amount, e.total);

        _leafClaimed[modelId][epoch][leaf] = true;
        e.claimed = claimedAfter;
        Pool storage p = _pools[modelId];
        p.balance -= amount;
        p.reserved -= amount;
        emit Claimed(modelId, epoch, account, amount);
        token.safeTransfer(account, amount);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IRewardVault
    function setFeeSplit(FeeSplit calldata split) external onlyRole(GOVERNANCE_ROLE) {
        uint256 sum = uint256(split.treasuryBps) + split.ownerBps + split.providerBps + split.contributorsBps;
        if (sum != BPS) revert FeeSplitSumInvalid(sum);
        _feeSplit = split;
        emit FeeSplitSet(split.treasuryBps, split.ownerBps, split.providerBps, split.contributorsBps);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IRewardVault
    function pool(uint256 modelId) external view returns (uint256 balance, uint256 reserved) {
        Pool storage p = _pools[modelId];
        return (p.balance, p.reserved);
    }

    /// @inheritdoc IRewardVault
    function getEpoch(uint256 modelId, uint64 epoch) external view returns (Epoch memory) {
        return _epochs[modelId][epoch];
    }

    /// @inheritdoc IRewardVault
    function isClaimed(uint256 modelId, uint64 epoch, address account, uint256 amount) external view returns (bool) {
        return _leafClaimed[modelId][epoch][_leaf(account, amount)];
    }

    /// @inheritdoc IRewardVault
    function feeSplit() external view returns (FeeSplit memory) {
        return _feeSplit;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Credits the three party shares and adds the contributors' share (which absorbs rounding
    ///      dust, so the shares always sum to `amount`) to the model's pool.
    function _splitAndCredit(uint256 modelId, uint256 amount, address owner, address provider)
        private
        returns (uint256[4] memory shares)
    {
        FeeSplit memory s = _feeSplit;
        shares[0] = amount * s.treasuryBps / BPS;
        shares[1] = amount * s.ownerBps / BPS;
        shares[2] = amount * s.providerBps / BPS;
        shares[3] = amount - shares[0] - shares[1] - shares[2];
        _credit(treasury, shares[0]);
        _credit(owner, shares[1]);
        _credit(provider, shares[2]);
        _pools[modelId].balance += shares[3];
    }

    function _epochIn(uint256 modelId, uint64 epoch, EpochStatus expected) private view returns (Epoch storage e) {
        e = _epochs[modelId][epoch];
        if (e.status != expected) revert InvalidEpochStatus(modelId, epoch, e.status);
    }

    /// @dev OpenZeppelin StandardMerkleTree leaf for ["address","uint256"] (double hash: no second preimage).
    function _leaf(address account, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }
}
