#!/usr/bin/env node
// The `neurorx` command: the command line of the built package (npm run build writes dist/).
import '../dist/src/cli/main.js';
