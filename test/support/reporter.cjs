// Mocha reporter: the usual spec output, plus the run's counts written as JSON to
// $STRATA_TEST_STATS so that test/run-all.ts can sum every suite into one closing line.
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');

class StrataReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const file = process.env.STRATA_TEST_STATS;
      if (!file) return;
      const s = runner.stats || {};
      const stats = { passed: s.passes || 0, failed: s.failures || 0, skipped: s.pending || 0 };
      fs.writeFileSync(file, JSON.stringify(stats));
    });
  }
}
module.exports = StrataReporter;
