"""ModelRegistry: models, training jobs with leases, results, challenges, finalization, payouts."""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from web3.types import BlockIdentifier

from worker.chain.bindings import ContractBinding, TxResult
from worker.chain.types import Job, JobStatus, Lineage, Model, ModelParams, ModelStatus, from_abi, utc
from worker.errors import ChainError


class NotApprovedRequesterError(ChainError):
    """The account may not request training for the model (the contract would revert NotApprovedRequester):
    a new job can change a live model only with its owner's consent."""


class ModelRegistry(ContractBinding):
    NAME = "ModelRegistry"
    CREATED_ID = {
        "registerModel": ("ModelRegistered", "modelId"),
        "registerDerivedModel": ("ModelRegistered", "modelId"),
        "requestTraining": ("TrainingRequested", "jobId"),
    }

    # ------------------------------------------------------------------ models and jobs

    def _require_version(self, datanet_id: int, version_id: int) -> None:
        """An unknown Datanet or version refused before any gas is spent."""
        datanet = self.client.datanets.get_datanet(datanet_id)  # reverts UnknownDatanet (a call)
        if not 1 <= version_id <= datanet.version_count:
            raise ChainError(
                f"datanet {datanet_id} has no version {version_id} (it has {datanet.version_count}): "
                f"publish one with `openledger publish-version {datanet_id}`; nothing was sent"
            )

    def register_model(
        self,
        datanet_id: int,
        version_id: int,
        base_model: str,
        training_spec_cid: str,
        price_per_inference: int,
    ) -> TxResult:
        """Register a model bound to a datanet version; `created_id` is the model id. An unknown Datanet
        or version is refused before any gas is spent."""
        self._require_version(datanet_id, version_id)
        return self.transact(
            "registerModel", datanet_id, version_id, base_model, training_spec_cid, price_per_inference
        )

    def register_derived_model(
        self,
        datanet_id: int,
        version_id: int,
        base_model: str,
        training_spec_cid: str,
        price_per_inference: int,
        parent_model_id: int,
    ) -> TxResult:
        """Register a model fine-tuned from live model `parent_model_id` (same base model); its training
        starts from the parent's live job, pinned now, and its epochs pay the lineage share upward.
        Refused before any gas is spent when the parent is unknown, not live or on another base model."""
        parent = self.require_model(parent_model_id)
        if ModelStatus(parent.status) is not ModelStatus.LIVE:
            raise ChainError(
                f"model {parent_model_id} is not live: a derived model starts from its parent's finalized "
                "adapter, so train and finalize the parent first; nothing was sent"
            )
        if parent.base_model != base_model:
            raise ChainError(
                f"model {parent_model_id} fine-tunes {parent.base_model!r}, not {base_model!r}: a derived "
                "model keeps its parent's base model; nothing was sent"
            )
        self._require_version(datanet_id, version_id)
        return self.transact(
            "registerDerivedModel",
            datanet_id,
            version_id,
            base_model,
            training_spec_cid,
            price_per_inference,
            parent_model_id,
        )

    def set_price(self, model_id: int, price: int) -> TxResult:
        return self.transact("setPrice", model_id, price)

    def set_requester(self, model_id: int, account: str, approved: bool = True) -> TxResult:
        """Model owner only: let `account` request training for the model (or stop it)."""
        return self.transact("setRequester", model_id, to_checksum_address(account), approved)

    def request_training(self, model_id: int, bounty: int) -> TxResult:
        """Approve the bounty if needed and post a job; `created_id` is the job id. Only the model's owner
        or an approved requester may: anyone else gets NotApprovedRequesterError before any gas is spent
        (the approval included)."""
        self.require_requester(model_id, self.client.address)
        self.client.token.ensure_allowance(self.address, bounty)
        return self.transact("requestTraining", model_id, bounty)

    def require_requester(self, model_id: int, account: str) -> None:
        """Raise NotApprovedRequesterError unless `account` may request training for `model_id`."""
        if self.is_approved_requester(model_id, account):
            return
        owner = self.get_model(model_id).owner  # an unknown model reverts UnknownModel here
        raise NotApprovedRequesterError(
            f"{account} may not request training for model {model_id}: only its owner {owner} or an "
            f"address the owner approved (`openledger model approve-requester {model_id} ADDRESS`) may; "
            "nothing was sent"
        )

    def cancel_job(self, job_id: int) -> TxResult:
        return self.transact("cancelJob", job_id)

    def claim_job(self, job_id: int) -> TxResult:
        return self.transact("claimJob", job_id)

    def renew_lease(self, job_id: int) -> TxResult:
        return self.transact("renewLease", job_id)

    def release_job(self, job_id: int) -> TxResult:
        return self.transact("releaseJob", job_id)

    def submit_result(
        self, job_id: int, adapter_cid: str, metrics_cid: str, attribution_root: bytes, report_cid: str
    ) -> TxResult:
        return self.transact("submitResult", job_id, adapter_cid, metrics_cid, attribution_root, report_cid)

    def challenge_result(self, job_id: int, reason_cid: str) -> TxResult:
        """Approve the current challenge bond if needed and dispute the job's result (a late or misplaced
        challenge reverts as the contract says: call `check_challengeable` first to be told before gas)."""
        self.client.token.ensure_allowance(self.address, self.params().challenge_bond)
        return self.transact("challengeResult", job_id, reason_cid)

    def check_challengeable(self, job_id: int) -> int:
        """The bond a challenge of `job_id`'s result escrows now; ChainError (saying why) if the contract
        would revert: the job has no submitted result, its window has closed, or the account lacks the
        bond."""
        job = self.require_job(job_id)
        status = JobStatus(job.status)
        if status is JobStatus.CHALLENGED:
            raise ChainError(
                f"job {job_id}'s result is already challenged by {job.dispute.challenger}; nothing was sent"
            )
        if status is not JobStatus.SUBMITTED:
            raise ChainError(
                f"job {job_id} is {status.name.lower()}: only a submitted result inside its challenge "
                "window can be challenged; nothing was sent"
            )
        now = self.client.latest_timestamp()
        if now > job.challenge_deadline:
            raise ChainError(
                f"job {job_id}'s challenge window closed at {utc(job.challenge_deadline)}: its result can "
                "only be finalized now; nothing was sent"
            )
        bond = self.params().challenge_bond
        self.client.token.require_balance(bond, "the challenge bond")
        return bond

    def resolve_challenge(self, job_id: int, upheld: bool) -> TxResult:
        """GOVERNANCE_ROLE only: usually sent by the timelock through `governance.resolve_challenge`."""
        return self.transact("resolveChallenge", job_id, upheld)

    def lapse_challenge(self, job_id: int) -> TxResult:
        """Anyone, once the challenge's ruling deadline passed unruled: the result is voided (job Open)."""
        return self.transact("lapseChallenge", job_id)

    def finalize(self, job_id: int) -> TxResult:
        """Emits ModelLive when the model had no active provider, else ResultAwaitingOwner."""
        return self.transact("finalize", job_id)

    def activate_result(self, job_id: int) -> TxResult:
        """Model owner only: make finalized job `job_id` the model's live adapter and provider."""
        return self.transact("activateResult", job_id)

    def withdraw(self) -> TxResult:
        return self.transact("withdraw")

    def withdraw_for(self, account: str) -> TxResult:
        return self.transact("withdrawFor", to_checksum_address(account))

    # ------------------------------------------------------------------ governance setters

    def set_lease_duration(self, seconds: int) -> TxResult:
        return self.transact("setLeaseDuration", seconds)

    def set_challenge_window(self, seconds: int) -> TxResult:
        return self.transact("setChallengeWindow", seconds)

    def set_challenge_bond(self, amount: int) -> TxResult:
        return self.transact("setChallengeBond", amount)

    def set_slash_amount(self, amount: int) -> TxResult:
        return self.transact("setSlashAmount", amount)

    def set_challenger_reward_bps(self, bps: int) -> TxResult:
        return self.transact("setChallengerRewardBps", bps)

    def set_max_lease_time(self, seconds: int) -> TxResult:
        return self.transact("setMaxLeaseTime", seconds)

    def set_job_deadline(self, seconds: int) -> TxResult:
        return self.transact("setJobDeadline", seconds)

    def set_ruling_period(self, seconds: int) -> TxResult:
        return self.transact("setRulingPeriod", seconds)

    def set_collateral_bps(self, bps: int) -> TxResult:
        return self.transact("setCollateralBps", bps)

    def set_max_lineage_depth(self, depth: int) -> TxResult:
        return self.transact("setMaxLineageDepth", depth)

    # ------------------------------------------------------------------ views

    def get_model(self, model_id: int) -> Model:
        return from_abi(Model, self.view("getModel", model_id))

    def get_job(self, job_id: int) -> Job:
        return from_abi(Job, self.view("getJob", job_id))

    def require_model(self, model_id: int) -> Model:
        """The model, or a ChainError naming how many there are (instead of an UnknownModel revert)."""
        count = self.model_count()
        if not 1 <= model_id <= count:
            raise ChainError(
                f"model {model_id} does not exist (this deployment has {count} model(s)); "
                "see `openledger model list`"
            )
        return self.get_model(model_id)

    def require_job(self, job_id: int) -> Job:
        """The job, or a ChainError naming how many there are (instead of an UnknownJob revert)."""
        count = self.job_count()
        if not 1 <= job_id <= count:
            raise ChainError(f"job {job_id} does not exist (this deployment has {count} training job(s))")
        return self.get_job(job_id)

    def job_ids_of(self, model_id: int) -> list[int]:
        """Every training job posted for `model_id`, oldest first (from its `TrainingRequested` events)."""
        events = self.get_events(
            "TrainingRequested", self.client.deployment.block_number, "latest", None, model_id
        )
        return [int(e.args["jobId"]) for e in events]

    def lineage_of(self, model_id: int, block: BlockIdentifier = "latest") -> Lineage:
        """The model's parent, the parent's job it starts from, and its depth (zeros: not derived)."""
        parent, job, depth = self.contract.functions.lineageOf(model_id).call(block_identifier=block)
        return Lineage(int(parent), int(job), int(depth))

    def ancestors_of(self, model_id: int, block: BlockIdentifier = "latest") -> list[tuple[int, int]]:
        """(ancestor model id, pinned job id) that the model's epochs pay, parent first, as of `block`
        (at most `maxLineageDepth` of them)."""
        models, jobs = self.contract.functions.ancestorsOf(model_id).call(block_identifier=block)
        return [(int(m), int(j)) for m, j in zip(models, jobs, strict=True)]

    def max_lineage_depth(self, block: BlockIdentifier = "latest") -> int:
        return int(self.contract.functions.maxLineageDepth().call(block_identifier=block))

    def model_count(self) -> int:
        return int(self.view("modelCount"))

    def job_count(self) -> int:
        return int(self.view("jobCount"))

    def is_live(self, model_id: int) -> bool:
        return bool(self.view("isLive", model_id))

    def is_approved_requester(self, model_id: int, account: str) -> bool:
        """The model's owner or an address it approved with `set_requester`."""
        return bool(self.view("isApprovedRequester", model_id, to_checksum_address(account)))

    def compute_provider_of(self, model_id: int) -> str:
        return to_checksum_address(self.view("computeProviderOf", model_id))

    def params(self) -> ModelParams:
        return from_abi(ModelParams, self.view("params"))

    def credited(self, account: str) -> int:
        return int(self.view("credited", to_checksum_address(account)))
