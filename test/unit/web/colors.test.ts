import assert from 'node:assert/strict';
import { BAR_L, BAR_S, contrast, hslToRgb, hue, userColor } from '../../../kiwi-web/page/colors.js';

describe('web page colors (pure)', () => {
  it('keeps white text on every user color above WCAG AA (4.5:1)', () => {
    let worst = Infinity;
    for (let h = 0; h < 360; h++) {
      worst = Math.min(worst, contrast([255, 255, 255], hslToRgb(h, BAR_S, BAR_L)));
    }
    assert.ok(worst >= 4.5, `lowest contrast ${worst.toFixed(2)}:1`);
  });

  it('gives a user the same color everywhere and different users different hues', () => {
    assert.equal(userColor('alice'), userColor('alice'));
    const hues = new Set(['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map(hue));
    assert.ok(hues.size >= 5);
  });

  it('computes contrast as WCAG does', () => {
    assert.equal(contrast([0, 0, 0], [255, 255, 255]).toFixed(1), '21.0');
    assert.equal(contrast([118, 118, 118], [255, 255, 255]).toFixed(2), '4.54');
  });
});
