"""What ``pulumi up -s <env>-<stack>`` runs: the program the stack's config names."""
import programs
from programs.common import config

programs.run(config().require("program"))
