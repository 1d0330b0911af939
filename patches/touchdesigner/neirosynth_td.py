# neirosynth_td.py -- TouchDesigner helpers for the neirosynth OSC server.
#
# Put this file in a Text DAT named `neirosynth_td` (or sync it to the file).
# It is both:
#   * a module of send functions that use an OSC Out DAT:
#         op('neirosynth_td').module.note_on('drum', 48, 0.8)
#     or  mod.neirosynth_td.note_on('drum', 48, 0.8)
#   * the Callbacks DAT of an OSC In DAT (onReceiveOSC parses the replies).
#
# See README.md next to this file for the network setup, step by step.
#
# Ports (change them here):
#   OSC Out DAT  -> 127.0.0.1:57130  (neirosynth serve's default port)
#   OSC In DAT   <- port REPLY_PORT (57133); setup() sends /notify 1 57133 so
#   the server sends every reply there (TouchDesigner receives on a different
#   port than the OSC Out DAT sends from). Or start the server with
#   `neirosynth serve --reply-port 57133`.
#
# TouchDesigner sends numbers from CHOPs as floats; the server accepts floats
# wherever it expects an integer (voice ids are exact below 2^24).

OSC_OUT = 'oscout1'            # the OSC Out DAT (Network Address 127.0.0.1, Port 57130)
REPLY_PORT = 57133             # the OSC In DAT's Network Port
STATUS_TABLE = 'neirosynth_status'   # optional Table DAT that shows /status.reply
CTRL_CHOP = 'neirosynth_ctrl'  # optional CHOP driving strikes, pickups and morph
VOICE_ID = 1000                # explicit voice id used by these helpers (1000+)
MORPH_TARGET = 'bell'          # demo_start()'s morph target. /morph needs the voice's
                               # mesh size: the shipped drum and bell are 64x64 (the
                               # shipped marimba is 64x16: drum -> marimba is refused)

# /status.reply fields, in the order the server sends them.
STATUS_FIELDS = (
	'active_voices', 'voice_limit', 'instruments_loaded', 'engine', 'load',
	'underruns', 'late_bundles', 'dropped_messages', 'clamped_values',
	'sample_rate', 'block_size', 'output_latency_ms',
)


# ------------------------------------------------------------------ sending

def send(address, *args):
	"""Send one OSC message through the OSC Out DAT."""
	op(OSC_OUT).sendOSC(address, list(args))


def _inst(inst):
	# an instrument is a name ('drum', 'marimba', ...) or a bank index (0, 1, ...)
	return inst if isinstance(inst, str) else int(inst)


def setup(reply_port=None):
	"""Register for replies and notifications on the OSC In DAT's port
	(REPLY_PORT unless given; read at call time, so setting
	mod.neirosynth_td.REPLY_PORT also changes what demo_start() sends)."""
	port = REPLY_PORT if reply_port is None else reply_port
	send('/notify', 1, int(port))


def teardown():
	send('/notify', 0)


def status():
	send('/status')                # answered by /status.reply -> onReceiveOSC


def version():
	send('/version')


def sync(sync_id=1):
	send('/sync', int(sync_id))    # answered by /synced <id>


def inst_list():
	send('/inst/list')


def inst_info(inst):
	send('/inst/info', _inst(inst))


def inst_load(name):
	send('/inst/load', str(name))  # /done /inst/load <name> when loaded


def inst_reload(name):
	send('/inst/reload', str(name))


def note_on(inst, note, velocity=0.8):
	send('/note/on', _inst(inst), float(note), float(velocity))


def note_off(inst, note):
	send('/note/off', _inst(inst), float(note))


def voice_new(voice_id=VOICE_ID, inst='drum', note=45, velocity=0.9, **params):
	"""voice_id=-1 lets the server pick; the id arrives as /voice/started."""
	args = [int(voice_id), _inst(inst), float(note), float(velocity)]
	for name, value in params.items():
		args += [name, float(value)]
	send('/voice/new', *args)


def voice_set(voice_id=VOICE_ID, **params):
	"""voice_set(1000, gain=0.5, pan=-0.3, pitch=62, damping=1.2, morph=0.4)"""
	args = [int(voice_id)]
	for name, value in params.items():
		args += [name, float(value)]
	send('/voice/set', *args)


def voice_release(voice_id=VOICE_ID):
	send('/voice/release', int(voice_id))


def voice_free(voice_id=VOICE_ID):
	send('/voice/free', int(voice_id))


def voice_free_all():
	send('/voice/free_all')


def excite(voice_id, x, y, amplitude=0.8, width=0.05, shape='strike'):
	"""Strike (or 'pluck', 'noise') the voice at x, y (0..1)."""
	send('/excite', int(voice_id), float(x), float(y), float(amplitude),
		float(width), str(shape))


def pickup(voice_id, lx, ly, rx, ry):
	send('/pickup', int(voice_id), float(lx), float(ly), float(rx), float(ry))


def morph(voice_id, inst, t, seconds=None):
	"""Morph toward inst (same mesh size) by t, over seconds (None: smoothed)."""
	args = [int(voice_id), _inst(inst), float(t)]
	if seconds is not None:
		args.append(float(seconds))
	send('/morph', *args)


def master_gain(gain):
	send('/master/gain', float(gain))


# Modulators and presets (extensions of the contract, docs/osc.md)

def voice_mod(voice_id, param, shape='sine', rate=2.0, depth=0.5):
	"""An LFO (sine, triangle, saw, square) or smoothed noise on a parameter."""
	send('/voice/mod', int(voice_id), str(param), str(shape), float(rate), float(depth))


def voice_mod_clear(voice_id, param=None):
	send('/voice/mod/clear', int(voice_id), *([str(param)] if param else []))


def preset_save(name, voice_id=VOICE_ID):
	send('/preset/save', str(name), int(voice_id))   # /done /preset/save <name>


def preset_recall(name, target=VOICE_ID, seconds=0.0):
	"""On a voice id, or every voice of an instrument name; over `seconds`."""
	target = str(target) if isinstance(target, str) else int(target)
	send('/preset/recall', str(name), target, float(seconds))


def preset_list():
	send('/preset/list')           # answered by /preset/list.reply count name...


def midi(status_byte, data1=None, data2=None):
	send('/midi', *[int(b) for b in (status_byte, data1, data2) if b is not None])


def quit_server():
	send('/quit')


# ------------------------------------------------------------------ demo

def demo_start(voice_id=VOICE_ID):
	"""Notes, a voice, a morph target: run once, then let frame_update() play."""
	setup()
	note_on('drum', 48, 0.8)
	note_on('marimba', 67, 0.6)
	note_on(0, 55, 0.7)            # instrument by bank index
	voice_new(voice_id, 'drum', 45, 0.9, gain=0.8)
	pickup(voice_id, 0.2, 0.5, 0.8, 0.5)
	preset_save('demo-start', voice_id)  # its controls as they start
	voice_mod(voice_id, 'pan', 'sine', 2.0, 0.6)   # pan swings twice a second
	morph(voice_id, MORPH_TARGET, 0.0)   # morph target; t follows the 'morph' channel
	status()


def demo_stop(voice_id=VOICE_ID):
	note_off('drum', 48)
	note_off('marimba', 67)
	note_off(0, 55)
	voice_mod_clear(voice_id, 'pan')
	preset_recall('demo-start', voice_id, 0.5)   # glide back over 0.5 s
	voice_release(voice_id)
	status()


_last_trigger = {'value': 0.0}


def frame_update(voice_id=VOICE_ID, chop=CTRL_CHOP):
	"""Send the control CHOP's channels; call at 30-60 Hz.

	Call it from an Execute DAT (onFrameStart) or a CHOP Execute DAT
	(onValueChange). Channels (all optional): x, y (strike position),
	strike (a strike on each rise above 0.5), amp, lx, ly, rx, ry (pickups),
	morph (0..1).
	"""
	c = op(chop)
	if c is None:
		return

	def ch(name, default):
		channel = c.chan(name)
		return float(channel.eval()) if channel is not None else default

	trig = ch('strike', 0.0)
	if trig > 0.5 and _last_trigger['value'] <= 0.5:
		excite(voice_id, ch('x', 0.5), ch('y', 0.5), ch('amp', 0.8))
	_last_trigger['value'] = trig
	if c.chan('lx') is not None:
		pickup(voice_id, ch('lx', 0.2), ch('ly', 0.5), ch('rx', 0.8), ch('ry', 0.5))
	if c.chan('morph') is not None:
		voice_set(voice_id, morph=ch('morph', 0.0))


# ------------------------------------------------------------------ receiving
# Callbacks of the OSC In DAT (set its Callbacks DAT to this DAT).

def parse_status(args):
	"""/status.reply arguments -> dict by field name."""
	fields = dict(zip(STATUS_FIELDS, args))
	for i, value in enumerate(args[len(STATUS_FIELDS):]):
		fields['extra_%d' % i] = value
	return fields


def _show_status(fields):
	table = op(STATUS_TABLE)
	if table is None:
		return
	table.clear()
	table.appendRow(['field', 'value'])
	for name, value in fields.items():
		table.appendRow([name, value])


def onReceiveOSC(dat, rowIndex, message, byteData, timeStamp, address, args, peer):
	if address == '/status.reply':
		fields = parse_status(args)
		print('neirosynth /status.reply')
		for name, value in fields.items():
			print('  %-19s : %s' % (name, value))
		_show_status(fields)
		if dat is not None:
			dat.store('neirosynth_status', fields)
	elif address == '/voice/started':
		print('neirosynth voice started:', args[0])
		if dat is not None:
			dat.store('neirosynth_last_voice', int(args[0]))
	elif address == '/voice/end':
		print('neirosynth voice ended:', args[0])
	elif address == '/fail':
		print('neirosynth /fail', *args)
	elif address in ('/done', '/synced', '/version.reply', '/inst/list.reply',
					'/inst/info.reply', '/preset/list.reply'):
		print('neirosynth', address, *args)
	return
