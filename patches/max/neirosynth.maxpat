{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 8,
			"minor": 5,
			"revision": 0,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [
			40.0,
			80.0,
			1500.0,
			1332.0
		],
		"bglocked": 0,
		"openinpresentation": 0,
		"default_fontsize": 12.0,
		"default_fontface": 0,
		"default_fontname": "Arial",
		"gridonopen": 1,
		"gridsize": [
			15.0,
			15.0
		],
		"gridsnaponopen": 1,
		"objectsnaponopen": 1,
		"statusbarvisible": 2,
		"toolbarvisible": 1,
		"lefttoolbarpinned": 0,
		"toptoolbarpinned": 0,
		"righttoolbarpinned": 0,
		"bottomtoolbarpinned": 0,
		"toolbars_unpinned_last_save": 0,
		"tallnewobj": 0,
		"boxanimatetime": 200,
		"enablehscroll": 1,
		"enablevscroll": 1,
		"devicewidth": 0.0,
		"description": "neirosynth OSC client",
		"digest": "",
		"tags": "",
		"style": "",
		"subpatcher_template": "",
		"assistshowspatchername": 0,
		"boxes": [
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						10.0,
						900,
						40.0
					],
					"text": "neirosynth - Max client. Start the server: neirosynth serve (UDP 127.0.0.1:57130). Replies come to [udpreceive 57131] after /notify 1 57131 (sent on load), or with neirosynth serve --reply-port 57131.",
					"linecount": 2,
					"id": "obj-1"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						60.0,
						541.0,
						20.0
					],
					"text": "1) connection (change host/port with the messages, or edit the udpsend box)",
					"id": "obj-2"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						90.0,
						72.0,
						22.0
					],
					"text": "loadbang",
					"outlettype": [
						"bang"
					],
					"id": "obj-3"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						20.0,
						120.0,
						51.0,
						22.0
					],
					"text": "t b b",
					"outlettype": [
						"bang",
						"bang"
					],
					"id": "obj-4"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						120.0,
						150.0,
						121.0,
						22.0
					],
					"text": "/notify 1 57131",
					"id": "obj-5"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						240.0,
						150.0,
						79.0,
						22.0
					],
					"text": "/notify 0",
					"id": "obj-6"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						330.0,
						90.0,
						114.0,
						22.0
					],
					"text": "host 127.0.0.1",
					"id": "obj-7"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						450.0,
						90.0,
						86.0,
						22.0
					],
					"text": "port 57130",
					"id": "obj-8"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						560.0,
						90.0,
						79.0,
						22.0
					],
					"text": "r ns.send",
					"outlettype": [
						""
					],
					"id": "obj-9"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						330.0,
						190.0,
						177.0,
						22.0
					],
					"text": "udpsend 127.0.0.1 57130",
					"id": "obj-10"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						150.0,
						44.0,
						22.0
					],
					"text": "1000",
					"id": "obj-11"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						20.0,
						190.0,
						60.0,
						22.0
					],
					"id": "obj-12"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						85.0,
						190.0,
						170,
						20.0
					],
					"text": "voice id (explicit, 1000+)",
					"id": "obj-13"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						220.0,
						65.0,
						22.0
					],
					"text": "s ns.id",
					"id": "obj-14"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						700.0,
						60.0,
						170.0,
						20.0
					],
					"text": "2) replies and /status",
					"id": "obj-15"
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						700.0,
						90.0,
						24.0,
						24.0
					],
					"id": "obj-16"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						735.0,
						90.0,
						65.0,
						22.0
					],
					"text": "/status",
					"id": "obj-17"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						810.0,
						90.0,
						72.0,
						22.0
					],
					"text": "/version",
					"id": "obj-18"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						890.0,
						90.0,
						86.0,
						22.0
					],
					"text": "/inst/list",
					"id": "obj-19"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						980.0,
						90.0,
						65.0,
						22.0
					],
					"text": "/sync 1",
					"id": "obj-20"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						735.0,
						120.0,
						79.0,
						22.0
					],
					"text": "s ns.send",
					"id": "obj-21"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						700.0,
						160.0,
						128.0,
						22.0
					],
					"text": "udpreceive 57131",
					"outlettype": [
						""
					],
					"id": "obj-22"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 9,
					"numoutlets": 9,
					"patching_rect": [
						700.0,
						190.0,
						695.0,
						22.0
					],
					"text": "route /status.reply /fail /done /synced /voice/started /voice/end /version.reply /inst/list.reply",
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						""
					],
					"id": "obj-23"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						700.0,
						230.0,
						51.0,
						22.0
					],
					"text": "t l l",
					"outlettype": [
						"",
						""
					],
					"id": "obj-24"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 12,
					"patching_rect": [
						760.0,
						260.0,
						247.0,
						22.0
					],
					"text": "unpack 0 0 0 s 0. 0 0 0 0 0. 0 0.",
					"outlettype": [
						"int",
						"int",
						"int",
						"",
						"float",
						"int",
						"int",
						"int",
						"int",
						"float",
						"int",
						"float"
					],
					"id": "obj-25"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						760.0,
						300.0,
						60.0,
						22.0
					],
					"id": "obj-26"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						825.0,
						300.0,
						140,
						20.0
					],
					"text": "active_voices",
					"id": "obj-27"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						760.0,
						328.0,
						60.0,
						22.0
					],
					"id": "obj-28"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						825.0,
						328.0,
						140,
						20.0
					],
					"text": "voice_limit",
					"id": "obj-29"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						760.0,
						356.0,
						60.0,
						22.0
					],
					"id": "obj-30"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						825.0,
						356.0,
						140,
						20.0
					],
					"text": "instruments_loaded",
					"id": "obj-31"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						760.0,
						384.0,
						93.0,
						22.0
					],
					"text": "prepend set",
					"outlettype": [
						""
					],
					"id": "obj-32"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						845.0,
						384.0,
						60,
						22.0
					],
					"text": "cpu",
					"id": "obj-33"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						910.0,
						384.0,
						80,
						20.0
					],
					"text": "engine",
					"id": "obj-34"
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						760.0,
						412.0,
						60.0,
						22.0
					],
					"id": "obj-35"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						825.0,
						412.0,
						140,
						20.0
					],
					"text": "load",
					"id": "obj-36"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						760.0,
						440.0,
						60.0,
						22.0
					],
					"id": "obj-37"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						825.0,
						440.0,
						140,
						20.0
					],
					"text": "underruns",
					"id": "obj-38"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						990.0,
						300.0,
						60.0,
						22.0
					],
					"id": "obj-39"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1055.0,
						300.0,
						140,
						20.0
					],
					"text": "late_bundles",
					"id": "obj-40"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						990.0,
						328.0,
						60.0,
						22.0
					],
					"id": "obj-41"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1055.0,
						328.0,
						140,
						20.0
					],
					"text": "dropped_messages",
					"id": "obj-42"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						990.0,
						356.0,
						60.0,
						22.0
					],
					"id": "obj-43"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1055.0,
						356.0,
						140,
						20.0
					],
					"text": "clamped_values",
					"id": "obj-44"
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						990.0,
						384.0,
						60.0,
						22.0
					],
					"id": "obj-45"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1055.0,
						384.0,
						140,
						20.0
					],
					"text": "sample_rate",
					"id": "obj-46"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						990.0,
						412.0,
						60.0,
						22.0
					],
					"id": "obj-47"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1055.0,
						412.0,
						140,
						20.0
					],
					"text": "block_size",
					"id": "obj-48"
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						990.0,
						440.0,
						60.0,
						22.0
					],
					"id": "obj-49"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1055.0,
						440.0,
						140,
						20.0
					],
					"text": "output_latency_ms",
					"id": "obj-50"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						700.0,
						480.0,
						460,
						50.0
					],
					"text": "active_voices $1, voice_limit $2, instruments_loaded $3, engine $4, load $5, underruns $6, late_bundles $7, dropped_messages $8, clamped_values $9, sample_rate $10, block_size $11, output_latency_ms $12",
					"id": "obj-51",
					"linecount": 3
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						700.0,
						540.0,
						177.0,
						22.0
					],
					"text": "print neirosynth-status",
					"id": "obj-52"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						900.0,
						540.0,
						163.0,
						22.0
					],
					"text": "print neirosynth-fail",
					"id": "obj-53"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1080.0,
						540.0,
						128.0,
						22.0
					],
					"text": "print neirosynth",
					"id": "obj-54"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						1240.0,
						230.0,
						60.0,
						22.0
					],
					"id": "obj-55"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1305.0,
						230.0,
						150,
						20.0
					],
					"text": "last /voice/started id",
					"id": "obj-56"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1240.0,
						260.0,
						226.0,
						22.0
					],
					"text": "print neirosynth-voice-started",
					"id": "obj-57"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						270.0,
						485.0,
						20.0
					],
					"text": "3) notes: instrument (name or bank index), MIDI note, velocity 0..1",
					"id": "obj-58"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						300.0,
						156.0,
						22.0
					],
					"text": "/note/on drum 48 0.8",
					"id": "obj-59"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						190.0,
						300.0,
						135.0,
						22.0
					],
					"text": "/note/off drum 48",
					"id": "obj-60"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						330.0,
						177.0,
						22.0
					],
					"text": "/note/on marimba 60 0.7",
					"id": "obj-61"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						190.0,
						330.0,
						156.0,
						22.0
					],
					"text": "/note/off marimba 60",
					"id": "obj-62"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						360.0,
						135.0,
						22.0
					],
					"text": "/note/on 0 55 0.7",
					"id": "obj-63"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						190.0,
						360.0,
						114.0,
						22.0
					],
					"text": "/note/off 0 55",
					"id": "obj-64"
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						380.0,
						300.0,
						24.0,
						24.0
					],
					"id": "obj-65"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						410.0,
						300.0,
						90,
						20.0
					],
					"text": "marimba hit",
					"id": "obj-66"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						380.0,
						330.0,
						51.0,
						22.0
					],
					"text": "t b b",
					"outlettype": [
						"bang",
						"bang"
					],
					"id": "obj-67"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						380.0,
						360.0,
						79.0,
						22.0
					],
					"text": "delay 400",
					"outlettype": [
						"bang"
					],
					"id": "obj-68"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						460.0,
						360.0,
						177.0,
						22.0
					],
					"text": "/note/on marimba 64 0.8",
					"id": "obj-69"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						380.0,
						390.0,
						156.0,
						22.0
					],
					"text": "/note/off marimba 64",
					"id": "obj-70"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						420.0,
						79.0,
						22.0
					],
					"text": "s ns.send",
					"id": "obj-71"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						470.0,
						366.0,
						20.0
					],
					"text": "4) voice with the id above: new, release, free all",
					"id": "obj-72"
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						20.0,
						500.0,
						24.0,
						24.0
					],
					"id": "obj-73"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						48.0,
						500.0,
						40,
						20.0
					],
					"text": "new",
					"id": "obj-74"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						530.0,
						40.0,
						22.0
					],
					"text": "i",
					"outlettype": [
						"int"
					],
					"id": "obj-75"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						70.0,
						500.0,
						65.0,
						22.0
					],
					"text": "r ns.id",
					"outlettype": [
						""
					],
					"id": "obj-76"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						560.0,
						254.0,
						22.0
					],
					"text": "/voice/new $1 drum 45 0.9 gain 0.8",
					"id": "obj-77"
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						300.0,
						500.0,
						24.0,
						24.0
					],
					"id": "obj-78"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						328.0,
						500.0,
						60,
						20.0
					],
					"text": "release",
					"id": "obj-79"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						300.0,
						530.0,
						40.0,
						22.0
					],
					"text": "i",
					"outlettype": [
						"int"
					],
					"id": "obj-80"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						350.0,
						530.0,
						65.0,
						22.0
					],
					"text": "r ns.id",
					"outlettype": [
						""
					],
					"id": "obj-81"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						300.0,
						560.0,
						135.0,
						22.0
					],
					"text": "/voice/release $1",
					"id": "obj-82"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						440.0,
						560.0,
						121.0,
						22.0
					],
					"text": "/voice/free_all",
					"id": "obj-83"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						590.0,
						212.0,
						22.0
					],
					"text": "/voice/new -1 marimba 57 0.8",
					"id": "obj-84"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						235.0,
						590.0,
						330,
						20.0
					],
					"text": "<- server picks the id: see 'last /voice/started id'",
					"id": "obj-85"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						620.0,
						79.0,
						22.0
					],
					"text": "s ns.send",
					"id": "obj-86"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						660.0,
						639.0,
						20.0
					],
					"text": "5) moving strike: [line] glides x and y to random targets, [metro] strikes along the path",
					"id": "obj-87"
				}
			},
			{
				"box": {
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"int"
					],
					"parameter_enable": 0,
					"patching_rect": [
						20.0,
						690.0,
						24.0,
						24.0
					],
					"id": "obj-88"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						48.0,
						690.0,
						50,
						20.0
					],
					"text": "strike",
					"id": "obj-89"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						20.0,
						720.0,
						51.0,
						22.0
					],
					"text": "t i i",
					"outlettype": [
						"int",
						"int"
					],
					"id": "obj-90"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						170.0,
						750.0,
						86.0,
						22.0
					],
					"text": "metro 2000",
					"outlettype": [
						"bang"
					],
					"id": "obj-91"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						170.0,
						780.0,
						51.0,
						22.0
					],
					"text": "t b b",
					"outlettype": [
						"bang",
						"bang"
					],
					"id": "obj-92"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						170.0,
						810.0,
						93.0,
						22.0
					],
					"text": "random 1000",
					"outlettype": [
						"int"
					],
					"id": "obj-93"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						320.0,
						810.0,
						93.0,
						22.0
					],
					"text": "random 1000",
					"outlettype": [
						"int"
					],
					"id": "obj-94"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						170.0,
						840.0,
						65.0,
						22.0
					],
					"text": "/ 1000.",
					"outlettype": [
						"float"
					],
					"id": "obj-95"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						320.0,
						840.0,
						65.0,
						22.0
					],
					"text": "/ 1000.",
					"outlettype": [
						"float"
					],
					"id": "obj-96"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						170.0,
						870.0,
						100.0,
						22.0
					],
					"text": "pack 0. 1900",
					"outlettype": [
						""
					],
					"id": "obj-97"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						320.0,
						870.0,
						100.0,
						22.0
					],
					"text": "pack 0. 1900",
					"outlettype": [
						""
					],
					"id": "obj-98"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 2,
					"patching_rect": [
						170.0,
						900.0,
						86.0,
						22.0
					],
					"text": "line 0. 20",
					"outlettype": [
						"",
						"bang"
					],
					"id": "obj-99"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 2,
					"patching_rect": [
						320.0,
						900.0,
						86.0,
						22.0
					],
					"text": "line 0. 20",
					"outlettype": [
						"",
						"bang"
					],
					"id": "obj-100"
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						170.0,
						930.0,
						60.0,
						22.0
					],
					"id": "obj-101"
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						320.0,
						930.0,
						60.0,
						22.0
					],
					"id": "obj-102"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						750.0,
						79.0,
						22.0
					],
					"text": "metro 125",
					"outlettype": [
						"bang"
					],
					"id": "obj-103"
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						90.0,
						690.0,
						60.0,
						22.0
					],
					"id": "obj-104"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						155.0,
						690.0,
						130,
						20.0
					],
					"text": "ms between strikes",
					"id": "obj-105"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						20.0,
						960.0,
						65.0,
						22.0
					],
					"text": "t b b b",
					"outlettype": [
						"bang",
						"bang",
						"bang"
					],
					"id": "obj-106"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						990.0,
						40.0,
						22.0
					],
					"text": "i",
					"outlettype": [
						"int"
					],
					"id": "obj-107"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						60.0,
						930.0,
						65.0,
						22.0
					],
					"text": "r ns.id",
					"outlettype": [
						""
					],
					"id": "obj-108"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						170.0,
						990.0,
						40.0,
						22.0
					],
					"text": "f",
					"outlettype": [
						"float"
					],
					"id": "obj-109"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						320.0,
						990.0,
						40.0,
						22.0
					],
					"text": "f",
					"outlettype": [
						"float"
					],
					"id": "obj-110"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						1030.0,
						100.0,
						22.0
					],
					"text": "pack 0 0. 0.",
					"outlettype": [
						""
					],
					"id": "obj-111"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						1060.0,
						240.0,
						22.0
					],
					"text": "/excite $1 $2 $3 0.7 0.05 strike",
					"id": "obj-112"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						1090.0,
						79.0,
						22.0
					],
					"text": "s ns.send",
					"id": "obj-113"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						700.0,
						620.0,
						513.0,
						20.0
					],
					"text": "6) pickups (left x, left y, right x, right y) -> /pickup id lx ly rx ry",
					"id": "obj-114"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 5,
					"numoutlets": 1,
					"patching_rect": [
						700.0,
						760.0,
						191.0,
						22.0
					],
					"text": "pack 0.2 0.5 0.8 0.5 1000",
					"outlettype": [
						""
					],
					"id": "obj-115"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						950.0,
						730.0,
						65.0,
						22.0
					],
					"text": "r ns.id",
					"outlettype": [
						""
					],
					"id": "obj-116"
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"float"
					],
					"parameter_enable": 0,
					"patching_rect": [
						700.0,
						645.0,
						40.0,
						40.0
					],
					"id": "obj-117"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						700.0,
						690.0,
						58.0,
						22.0
					],
					"text": "/ 127.",
					"outlettype": [
						"float"
					],
					"id": "obj-118"
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"float"
					],
					"parameter_enable": 0,
					"patching_rect": [
						760.0,
						645.0,
						40.0,
						40.0
					],
					"id": "obj-119"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						760.0,
						690.0,
						58.0,
						22.0
					],
					"text": "/ 127.",
					"outlettype": [
						"float"
					],
					"id": "obj-120"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						760.0,
						720.0,
						51.0,
						22.0
					],
					"text": "t b f",
					"outlettype": [
						"bang",
						"float"
					],
					"id": "obj-121"
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"float"
					],
					"parameter_enable": 0,
					"patching_rect": [
						820.0,
						645.0,
						40.0,
						40.0
					],
					"id": "obj-122"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						820.0,
						690.0,
						58.0,
						22.0
					],
					"text": "/ 127.",
					"outlettype": [
						"float"
					],
					"id": "obj-123"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						820.0,
						720.0,
						51.0,
						22.0
					],
					"text": "t b f",
					"outlettype": [
						"bang",
						"float"
					],
					"id": "obj-124"
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"float"
					],
					"parameter_enable": 0,
					"patching_rect": [
						880.0,
						645.0,
						40.0,
						40.0
					],
					"id": "obj-125"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						880.0,
						690.0,
						58.0,
						22.0
					],
					"text": "/ 127.",
					"outlettype": [
						"float"
					],
					"id": "obj-126"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						880.0,
						720.0,
						51.0,
						22.0
					],
					"text": "t b f",
					"outlettype": [
						"bang",
						"float"
					],
					"id": "obj-127"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						700.0,
						790.0,
						170.0,
						22.0
					],
					"text": "/pickup $5 $1 $2 $3 $4",
					"id": "obj-128"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						700.0,
						820.0,
						79.0,
						22.0
					],
					"text": "s ns.send",
					"id": "obj-129"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						700.0,
						860.0,
						499.0,
						20.0
					],
					"text": "7) morph: /morph id inst t seconds, then /voice/set id morph t (dial)",
					"id": "obj-130"
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"bang"
					],
					"parameter_enable": 0,
					"patching_rect": [
						700.0,
						890.0,
						24.0,
						24.0
					],
					"id": "obj-131"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						728.0,
						890.0,
						120,
						20.0
					],
					"text": "to bell in 4 s",
					"id": "obj-132"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						700.0,
						920.0,
						40.0,
						22.0
					],
					"text": "i",
					"outlettype": [
						"int"
					],
					"id": "obj-133"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						750.0,
						920.0,
						65.0,
						22.0
					],
					"text": "r ns.id",
					"outlettype": [
						""
					],
					"id": "obj-134"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						700.0,
						950.0,
						177.0,
						22.0
					],
					"text": "/morph $1 bell 1. 4.",
					"id": "obj-135"
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"float"
					],
					"parameter_enable": 0,
					"patching_rect": [
						950.0,
						885.0,
						40.0,
						40.0
					],
					"id": "obj-136"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						995.0,
						895.0,
						50,
						20.0
					],
					"text": "morph",
					"id": "obj-137"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						950.0,
						930.0,
						58.0,
						22.0
					],
					"text": "/ 127.",
					"outlettype": [
						"float"
					],
					"id": "obj-138"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						950.0,
						960.0,
						100.0,
						22.0
					],
					"text": "pack 0. 1000",
					"outlettype": [
						""
					],
					"id": "obj-139"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						1050.0,
						930.0,
						65.0,
						22.0
					],
					"text": "r ns.id",
					"outlettype": [
						""
					],
					"id": "obj-140"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						950.0,
						990.0,
						170.0,
						22.0
					],
					"text": "/voice/set $2 morph $1",
					"id": "obj-141"
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						"float"
					],
					"parameter_enable": 0,
					"patching_rect": [
						1160.0,
						885.0,
						40.0,
						40.0
					],
					"id": "obj-142"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1205.0,
						895.0,
						80,
						20.0
					],
					"text": "master gain",
					"id": "obj-143"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1160.0,
						930.0,
						58.0,
						22.0
					],
					"text": "/ 127.",
					"outlettype": [
						"float"
					],
					"id": "obj-144"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1160.0,
						960.0,
						121.0,
						22.0
					],
					"text": "/master/gain $1",
					"id": "obj-145"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						700.0,
						1030.0,
						79.0,
						22.0
					],
					"text": "s ns.send",
					"id": "obj-146"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						40.0,
						1132.0,
						700,
						20.0
					],
					"id": "obj-147",
					"text": "8) modulators and presets (extensions, docs/osc.md): an LFO on pan and a preset saved; then the LFO cleared and the preset recalled over 1 s"
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						40.0,
						1162.0,
						24.0,
						24.0
					],
					"id": "obj-148",
					"outlettype": [
						"bang"
					],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						68.0,
						1162.0,
						200,
						20.0
					],
					"id": "obj-149",
					"text": "LFO on pan + save preset"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						40.0,
						1192.0,
						40.0,
						22.0
					],
					"id": "obj-150",
					"outlettype": [
						"int"
					],
					"text": "i"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						120.0,
						1162.0,
						65.0,
						22.0
					],
					"id": "obj-151",
					"outlettype": [
						""
					],
					"text": "r ns.id"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						40.0,
						1222.0,
						330.0,
						22.0
					],
					"id": "obj-152",
					"outlettype": [
						""
					],
					"text": "/voice/mod $1 pan sine 2. 0.6, /preset/save demo $1"
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						400.0,
						1162.0,
						24.0,
						24.0
					],
					"id": "obj-153",
					"outlettype": [
						"bang"
					],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						428.0,
						1162.0,
						220,
						20.0
					],
					"id": "obj-154",
					"text": "clear LFO + recall preset in 1 s"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						400.0,
						1192.0,
						40.0,
						22.0
					],
					"id": "obj-155",
					"outlettype": [
						"int"
					],
					"text": "i"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						400.0,
						1222.0,
						330.0,
						22.0
					],
					"id": "obj-156",
					"outlettype": [
						""
					],
					"text": "/voice/mod/clear $1, /preset/recall demo $1 1."
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						40.0,
						1262.0,
						70.0,
						22.0
					],
					"id": "obj-158",
					"text": "s ns.send"
				}
			}
		],
		"lines": [
			{
				"patchline": {
					"source": [
						"obj-3",
						0
					],
					"destination": [
						"obj-4",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-4",
						1
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-4",
						0
					],
					"destination": [
						"obj-11",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-11",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-12",
						0
					],
					"destination": [
						"obj-14",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-5",
						0
					],
					"destination": [
						"obj-10",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						0
					],
					"destination": [
						"obj-10",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						0
					],
					"destination": [
						"obj-10",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-8",
						0
					],
					"destination": [
						"obj-10",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-9",
						0
					],
					"destination": [
						"obj-10",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-16",
						0
					],
					"destination": [
						"obj-17",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						0
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-18",
						0
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-19",
						0
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-20",
						0
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-22",
						0
					],
					"destination": [
						"obj-23",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						0
					],
					"destination": [
						"obj-24",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-24",
						1
					],
					"destination": [
						"obj-25",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						0
					],
					"destination": [
						"obj-26",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						1
					],
					"destination": [
						"obj-28",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						2
					],
					"destination": [
						"obj-30",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						3
					],
					"destination": [
						"obj-32",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-32",
						0
					],
					"destination": [
						"obj-33",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						4
					],
					"destination": [
						"obj-35",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						5
					],
					"destination": [
						"obj-37",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						6
					],
					"destination": [
						"obj-39",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						7
					],
					"destination": [
						"obj-41",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						8
					],
					"destination": [
						"obj-43",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						9
					],
					"destination": [
						"obj-45",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						10
					],
					"destination": [
						"obj-47",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						11
					],
					"destination": [
						"obj-49",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-24",
						0
					],
					"destination": [
						"obj-51",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-51",
						0
					],
					"destination": [
						"obj-52",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						1
					],
					"destination": [
						"obj-53",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						2
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						3
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						5
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						6
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						7
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						8
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						4
					],
					"destination": [
						"obj-55",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						4
					],
					"destination": [
						"obj-57",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-65",
						0
					],
					"destination": [
						"obj-67",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-67",
						1
					],
					"destination": [
						"obj-69",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-67",
						0
					],
					"destination": [
						"obj-68",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-68",
						0
					],
					"destination": [
						"obj-70",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-59",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-60",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-61",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-62",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-63",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-64",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-69",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-70",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-73",
						0
					],
					"destination": [
						"obj-75",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-76",
						0
					],
					"destination": [
						"obj-75",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-75",
						0
					],
					"destination": [
						"obj-77",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-78",
						0
					],
					"destination": [
						"obj-80",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-81",
						0
					],
					"destination": [
						"obj-80",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-80",
						0
					],
					"destination": [
						"obj-82",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-77",
						0
					],
					"destination": [
						"obj-86",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-82",
						0
					],
					"destination": [
						"obj-86",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-83",
						0
					],
					"destination": [
						"obj-86",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-84",
						0
					],
					"destination": [
						"obj-86",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-88",
						0
					],
					"destination": [
						"obj-90",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-90",
						1
					],
					"destination": [
						"obj-91",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-90",
						0
					],
					"destination": [
						"obj-103",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-104",
						0
					],
					"destination": [
						"obj-103",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-91",
						0
					],
					"destination": [
						"obj-92",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-92",
						1
					],
					"destination": [
						"obj-94",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-92",
						0
					],
					"destination": [
						"obj-93",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-93",
						0
					],
					"destination": [
						"obj-95",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-95",
						0
					],
					"destination": [
						"obj-97",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-97",
						0
					],
					"destination": [
						"obj-99",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-99",
						0
					],
					"destination": [
						"obj-101",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-99",
						0
					],
					"destination": [
						"obj-109",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-94",
						0
					],
					"destination": [
						"obj-96",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-96",
						0
					],
					"destination": [
						"obj-98",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-98",
						0
					],
					"destination": [
						"obj-100",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-100",
						0
					],
					"destination": [
						"obj-102",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-100",
						0
					],
					"destination": [
						"obj-110",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-103",
						0
					],
					"destination": [
						"obj-106",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-106",
						2
					],
					"destination": [
						"obj-110",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-106",
						1
					],
					"destination": [
						"obj-109",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-106",
						0
					],
					"destination": [
						"obj-107",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-108",
						0
					],
					"destination": [
						"obj-107",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-110",
						0
					],
					"destination": [
						"obj-111",
						2
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-109",
						0
					],
					"destination": [
						"obj-111",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-107",
						0
					],
					"destination": [
						"obj-111",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-111",
						0
					],
					"destination": [
						"obj-112",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-112",
						0
					],
					"destination": [
						"obj-113",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-117",
						0
					],
					"destination": [
						"obj-118",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-118",
						0
					],
					"destination": [
						"obj-115",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-119",
						0
					],
					"destination": [
						"obj-120",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-120",
						0
					],
					"destination": [
						"obj-121",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-121",
						1
					],
					"destination": [
						"obj-115",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-121",
						0
					],
					"destination": [
						"obj-115",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-122",
						0
					],
					"destination": [
						"obj-123",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-123",
						0
					],
					"destination": [
						"obj-124",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-124",
						1
					],
					"destination": [
						"obj-115",
						2
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-124",
						0
					],
					"destination": [
						"obj-115",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-125",
						0
					],
					"destination": [
						"obj-126",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-126",
						0
					],
					"destination": [
						"obj-127",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-127",
						1
					],
					"destination": [
						"obj-115",
						3
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-127",
						0
					],
					"destination": [
						"obj-115",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-116",
						0
					],
					"destination": [
						"obj-115",
						4
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-115",
						0
					],
					"destination": [
						"obj-128",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-128",
						0
					],
					"destination": [
						"obj-129",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-131",
						0
					],
					"destination": [
						"obj-133",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-134",
						0
					],
					"destination": [
						"obj-133",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-133",
						0
					],
					"destination": [
						"obj-135",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-136",
						0
					],
					"destination": [
						"obj-138",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-138",
						0
					],
					"destination": [
						"obj-139",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-140",
						0
					],
					"destination": [
						"obj-139",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-139",
						0
					],
					"destination": [
						"obj-141",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-142",
						0
					],
					"destination": [
						"obj-144",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-144",
						0
					],
					"destination": [
						"obj-145",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-135",
						0
					],
					"destination": [
						"obj-146",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-141",
						0
					],
					"destination": [
						"obj-146",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-145",
						0
					],
					"destination": [
						"obj-146",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-148",
						0
					],
					"destination": [
						"obj-150",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-151",
						0
					],
					"destination": [
						"obj-150",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-150",
						0
					],
					"destination": [
						"obj-152",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-152",
						0
					],
					"destination": [
						"obj-158",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-153",
						0
					],
					"destination": [
						"obj-155",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-151",
						0
					],
					"destination": [
						"obj-155",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-155",
						0
					],
					"destination": [
						"obj-156",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-156",
						0
					],
					"destination": [
						"obj-158",
						0
					]
				}
			}
		],
		"dependency_cache": [],
		"autosave": 0
	}
}
