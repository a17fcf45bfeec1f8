// Mocha's spec reporter, plus the plain closing line CI reads: "tests: N passed, N failed".
// Pending (skipped) tests must say why; they are counted and listed.
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_HOOK_END } = Mocha.Runner.constants;

class KiwiReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0, failed = 0, skipped = 0;
    runner.on(EVENT_TEST_PASS, () => passed++);
    runner.on(EVENT_TEST_FAIL, () => failed++);
    runner.on(EVENT_TEST_PENDING, () => skipped++);
    runner.once(EVENT_RUN_END, () => {
      const line = `tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
      console.log(line);
      if (process.env.KIWI_TEST_SUMMARY) require('fs').appendFileSync(process.env.KIWI_TEST_SUMMARY, JSON.stringify({ passed, failed, skipped }) + '\n');
    });
  }
}
module.exports = KiwiReporter;
