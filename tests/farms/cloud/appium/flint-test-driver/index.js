'use strict';
// A phone for the flint-bench tests. Each device (appium:deviceName) is a folder under
// $FLINT_TEST_DEVICE_ROOT that persists across sessions, like a real phone's storage.
// Paths follow the real drivers: Android absolute paths (/sdcard/Android/data/<pkg>/files/...),
// iOS `@<bundleId>:documents/<path>` (XCUITest's app-container syntax). Launching the app
// (mobile: activateApp) runs the reference benchmark app on the app's spec.json in the background,
// as a real app would; its result appears as files/Documents result.json and as the element with
// accessibility id `flint_result`.
const { BaseDriver, errors } = require('appium/driver');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const FAULTS = ['none', 'refuse', 'no-result', 'malformed', 'lost', 'freeze'];

class FlintTestDriver extends BaseDriver {
  static executeMethodMap = {
    'mobile: pushFile': { command: 'pushFile', params: { required: ['remotePath', 'payload'] } },
    'mobile: pullFile': { command: 'pullFile', params: { required: ['remotePath'] } },
    'mobile: activateApp': { command: 'activateApp', params: { optional: ['appId', 'bundleId'] } },
    'mobile: terminateApp': { command: 'terminateApp', params: { optional: ['appId', 'bundleId'] } },
    'mobile: batteryInfo': { command: 'batteryInfo' },
    'mobile: getPerformanceData': { command: 'getPerformanceData', params: { required: ['packageName', 'dataType'] } },
  };

  constructor(opts = {}, shouldValidateCaps = true) {
    super(opts, shouldValidateCaps);
    this.locatorStrategies = ['accessibility id'];
    this.desiredCapConstraints = {
      platformName: { presence: true, isString: true, inclusionCaseInsensitive: ['Android', 'iOS'] },
      deviceName: { isString: true },
      app: { presence: true, isString: true },
      platformVersion: { isString: true },
      flintFault: { isString: true, inclusion: FAULTS },
      flintBattery: { isNumber: true },  // battery level 0..1 this phone reports; absent: no battery info
      flintFreezeSeconds: { isNumber: true },  // flintFault=freeze: how long the launch hangs (default 20)
    };
    this.worker = null;
    this.resultText = null;
  }

  async createSession(...args) {
    const [sessionId, caps] = await super.createSession(...args);
    const fault = this.opts.flintFault || 'none';
    if (fault === 'refuse') {
      await super.deleteSession();
      throw new errors.SessionNotCreatedError('flint-test-driver: the device refused the session (flintFault=refuse)');
    }
    const app = this.opts.app;
    if (!/^(bs|storage|sauce-storage):/.test(app) && !fs.existsSync(app)) {
      await super.deleteSession();
      throw new errors.SessionNotCreatedError(`flint-test-driver: cannot install the app: '${app}' does not exist`);
    }
    const root = process.env.FLINT_TEST_DEVICE_ROOT;
    if (!root) {
      throw new errors.SessionNotCreatedError('FLINT_TEST_DEVICE_ROOT is not set on the Appium server');
    }
    // BrowserStack's hub takes the device from bstack:options; so does this driver
    const deviceName = this.opts.deviceName || caps['bstack:options']?.deviceName || this.opts['bstack:options']?.deviceName;
    if (!deviceName) {
      await super.deleteSession();
      throw new errors.SessionNotCreatedError('no device requested: set appium:deviceName (or bstack:options.deviceName)');
    }
    this.log.info(`session caps: ${JSON.stringify(Object.keys(caps))}`);
    this.storage = path.join(root, deviceName.replace(/[^A-Za-z0-9._-]/g, '_'));
    fs.mkdirSync(this.storage, { recursive: true });
    this.ios = this.opts.platformName.toLowerCase() === 'ios';
    return [sessionId, caps];
  }

  // a device path -> a file inside this device's storage; never outside it
  localPath(remotePath) {
    let rel;
    const m = /^@([^:/]+):documents\/(.*)$/.exec(remotePath);
    if (m) {
      rel = path.join('containers', m[1], 'Documents', m[2]);
    } else if (remotePath.startsWith('/')) {
      rel = remotePath.slice(1);
    } else {
      throw new errors.InvalidArgumentError(`'${remotePath}' is neither an absolute path nor @<bundleId>:documents/<path>`);
    }
    const full = path.resolve(this.storage, rel);
    if (!full.startsWith(this.storage + path.sep)) {
      throw new errors.InvalidArgumentError(`'${remotePath}' escapes the device storage`);
    }
    return full;
  }

  appDir(appId) {
    return this.ios ? this.localPath(`@${appId}:documents/x`).slice(0, -2)
                    : this.localPath(`/sdcard/Android/data/${appId}/files/x`).slice(0, -2);
  }

  async execute(script, args) {
    if (!script.startsWith('mobile:')) {
      throw new errors.NotImplementedError('only `mobile:` execute methods exist on this device');
    }
    return await this.executeMethod(`mobile: ${script.slice('mobile:'.length).trim()}`, args);
  }

  async pushFile(remotePath, payload) {
    const full = this.localPath(remotePath);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, Buffer.from(payload, 'base64'));
  }

  async pullFile(remotePath) {
    const full = this.localPath(remotePath);
    if (!fs.existsSync(full)) {
      throw new errors.UnknownError(`Remote path '${remotePath}' does not exist on the device`);
    }
    return fs.readFileSync(full).toString('base64');
  }

  async activateApp(appId, bundleId) {
    const id = appId || bundleId;
    const dir = this.appDir(id);
    const fault = this.opts.flintFault || 'none';
    this.resultText = null;
    if (fault === 'lost') {
      // the phone goes away: the server ends the session under the client
      setTimeout(() => this.startUnexpectedShutdown(new errors.NoSuchDriverError('the phone disconnected')).catch(() => {}), 50);
      return;
    }
    if (fault === 'no-result') {
      return;
    }
    if (fault === 'freeze') {
      // the phone hangs in the launch: the hub holds the HTTP request open and answers nothing for a while
      await new Promise((resolve) => setTimeout(resolve, 1000 * (this.opts.flintFreezeSeconds ?? 20)));
      return;
    }
    const resultPath = path.join(dir, 'result.json');
    if (fault === 'malformed') {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(resultPath, '{"schema_version": "1", "status": "ok", "timing": ');
      this.resultText = fs.readFileSync(resultPath, 'utf8');
      return;
    }
    const python = process.env.FLINT_TEST_PYTHON || 'python3';
    // argv, never a shell: names with spaces, quotes or $(...) stay data
    this.cpuTicks = null;
    this.workerStarted = process.hrtime.bigint();
    this.worker = spawn(python, ['-m', 'flint_bench.bench.worker', path.join(dir, 'spec.json'), resultPath],
                        { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.worker.stderr.on('data', (d) => { stderr += d; });
    this.worker.on('exit', (code) => {
      this.worker = null;
      if (fs.existsSync(resultPath)) {
        this.resultText = fs.readFileSync(resultPath, 'utf8');
      } else {
        this.log.warn(`benchmark app exited with ${code} without a result: ${stderr.slice(-500)}`);
      }
    });
  }

  // UiAutomator2 / XCUITest shape: level 0..1, state 2 = charging on both
  async batteryInfo() {
    if (this.opts.flintBattery === undefined) {
      throw new errors.UnsupportedOperationError('this phone reports no battery');
    }
    return { level: this.opts.flintBattery, state: 2 };
  }

  // UiAutomator2's shape, measured on the app's process (the worker) from /proc: CPU % since the
  // previous call (user, kernel) and PSS in KB. No process: an error, as on a phone.
  async getPerformanceData(packageName, dataType) {
    if (!this.worker || this.ios) {
      throw new errors.UnknownError(`no running process for ${packageName}`);
    }
    const pid = this.worker.pid;
    if (dataType === 'cpuinfo') {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const ticks = { user: Number(fields[11]), kernel: Number(fields[12]), at: process.hrtime.bigint() };
      const prev = this.cpuTicks || { user: 0, kernel: 0, at: this.workerStarted };
      this.cpuTicks = ticks;
      const seconds = Number(ticks.at - prev.at) / 1e9;
      const hz = 100;  // USER_HZ on Linux
      const pct = (d) => (seconds > 0 ? (100 * d) / hz / seconds : 0).toFixed(1);
      return [['user', 'kernel'], [pct(ticks.user - prev.user), pct(ticks.kernel - prev.kernel)]];
    }
    if (dataType === 'memoryinfo') {
      const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      return [['totalPrivateDirty', 'totalPss'], ['', m ? m[1] : '']];
    }
    throw new errors.InvalidArgumentError(`unknown dataType ${dataType}`);
  }

  async terminateApp() {
    if (this.worker) {
      this.worker.kill('SIGKILL');
      return true;
    }
    return false;
  }

  async findElOrEls(strategy, selector, mult) {
    const found = selector === 'flint_result' && this.resultText !== null;
    if (mult) {
      return found ? [{ ELEMENT: 'flint_result', 'element-6066-11e4-a52e-4f735466cecf': 'flint_result' }] : [];
    }
    if (!found) {
      throw new errors.NoSuchElementError(`no element with accessibility id '${selector}'`);
    }
    return { ELEMENT: 'flint_result', 'element-6066-11e4-a52e-4f735466cecf': 'flint_result' };
  }

  async getText(elementId) {
    if (elementId !== 'flint_result' || this.resultText === null) {
      throw new errors.StaleElementReferenceError();
    }
    return this.resultText;
  }

  async deleteSession(...args) {
    await this.terminateApp();
    await super.deleteSession(...args);
  }
}

module.exports = { FlintTestDriver };
