"""AWS limits and quotas in one place; they change, so nothing else hard-codes them."""

# Permission sets (IAM Identity Center user guide, "Quotas").
MIN_SESSION_SECONDS = 3600  # PT1H
MAX_SESSION_SECONDS = 43200  # PT12H
MAX_MANAGED_POLICIES_PER_PERMISSION_SET = 20  # AWS and customer managed together
MAX_INLINE_POLICY_BYTES = 32768
MAX_TAGS_PER_PERMISSION_SET = 75

# Request rates: about 20 requests per second per service (identitystore: per API).
SSO_ADMIN_TPS = 20.0
IDENTITY_STORE_TPS = 20.0

# Threads one run makes independent calls with (--workers): enough to overlap round trips
# within the rates above; more only queue at the rate limit.
WORKERS = 4

# How long one call is retried through throttling, 5xx and dropped connections
# (--retry-budget). Under sustained throttling a call can need dozens of attempts; an
# attempt count ran out and lost whole runs.
RETRY_BUDGET_SECONDS = 300.0
# How long one asynchronous request is waited for (--timeout).
POLL_TIMEOUT_SECONDS = 900.0

# Asynchronous work.
MAX_OUTSTANDING_ASSIGNMENT_REQUESTS = 15  # CreateAccountAssignment / DeleteAccountAssignment
MAX_CONCURRENT_PROVISIONINGS = 3  # ProvisionPermissionSet

# Page sizes the list APIs accept.
LIST_PAGE_SIZE = 100
# Groups one IsMemberInGroups asks about (GroupIds: at most 100, botocore identitystore model).
MAX_GROUPS_PER_MEMBERSHIP_CHECK = 100

# IAM, in every account a permission set is provisioned to (IAM Identity Center user guide,
# "Quotas"; IAM user guide, "IAM and AWS STS quotas"): the role it becomes takes 10 managed
# policies unless the account raised the quota, and 10,240 characters of inline policy,
# whitespace not counted.
IAM_MANAGED_POLICIES_PER_ROLE = 10
IAM_ROLE_INLINE_POLICY_CHARS = 10240
