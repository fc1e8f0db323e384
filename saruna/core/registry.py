"""The models that are not tenant-owned, each with the reason. Every other Saruna model must
carry an ``account`` foreign key and a scoped default manager (a test enforces this)."""

GLOBAL_MODELS: dict[str, str] = {
    "core.account": "the tenant itself",
    "core.accountclosure": "the provider's record of a closed account, kept after its content",
    "core.plan": "the provider's catalogue",
    "core.outboundemail": "the provider's mail queue; rows name their account when they have one",
    "web.demobooking": "requests to the provider from its public site",
    "web.cookieconsent": "consent given on the provider's public site",
    "billing.planprice": "the provider's price list",
    "billing.planlimits": "the provider's catalogue",
    "billing.exchangerate": "the ECB's euro reference rates, the same for every account",
    "billing.documentcounter": "invoice numbers run across all accounts, one series per year",
    "billing.codebatch": "lifetime codes the provider imports before any account redeems them",
    "billing.lifetimecode": "the provider's codes; the redeeming account is on its redemption",
}
