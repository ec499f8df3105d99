// Package actors is readtag's presence engine, built on Hollywood actors
// (github.com/anthdm/hollywood v1.0.5). It knows who is reading which post and
// where, and tells every reader of a post about the others. It knows nothing
// of HTTP: the web package reaches it through readtag.Client and
// readtag.Session, wired together in cmd/readtag. Config (config.go) is all
// of its configuration, cluster mode's included; its zero value is ready to
// use.
//
// # The actor tree
//
// It mirrors the Phoenix LiveView design readtag re-creates: one process per
// reader under a per-post dynamic supervisor, and a monitor that removes
// readers whose connection died.
//
//	engine
//	├── monitor/<node>                      watches actors stop (event stream)
//	├── rooms/<node>                        the dynamic supervisor: slug → room
//	│   └── rooms/<node>/room/<slug>        one per post with readers: table, tick, fan-out
//	│       └── …/room/<slug>/reader/<id>   one per connection: its lifecycle and its seat (position)
//	└── conn/<id>                           one per WebSocket: joins, early scrolls, drops
//
// A resumed reader's actors are named <id>.<n> (system.resumeName): its
// earlier ones may not be gone yet, and Hollywood refuses a name twice.
//
// (monitor.go, rooms.go, room.go with crowd.go for crowd mode, reader.go,
// conn.go). A room is keyed by a post's slug or, for a page of another site
// (issue 21), by a key like "blog.example.com/posts/hello"
// (internal/pagekey); its actor is named by the key with "/" made "|"
// (roomActorID), so that no key can name another actor. In cluster mode (Config.Cluster) three more actors run on every
// node:
//
//	├── cluster/<node>     Hollywood's cluster agent, behind agentGuard: the member list, MemberJoin/LeaveEvent
//	├── provider/<node>    readtag's membership provider: peers (configured and joined), two-way heartbeats, timeouts
//	└── tracker/<node>     replicates presence: our readers' deltas out, the peers' in
//
// and, outside the actors, one link per peer (cluster_links.go): a goroutine
// with its own connection and bounded queue that carries the provider's and
// the tracker's messages to that peer. Peers' messages come in through the
// cluster remote (see Inbound peer traffic), which delivers them to our actors.
// With ClusterConfig.Join or PeersDNS the provider also runs a discovery
// goroutine (cluster_members.go) that dials seed and DNS addresses, reads
// each node's id from its certificate and reports it to the provider.
//
// Rooms and readers are named under their supervisor but are not spawned with
// Hollywood's SpawnChild: in v1.0.5 a stopping parent poisons each child and
// waits for it, and a child that is stopping at that moment swallows the pill
// and the parent waits forever. Each supervisor stops its own actors instead
// and learns of their failures through the monitor.
//
// # The cluster seam
//
// What only cluster mode runs is in files named cluster_*.go: the provider
// (cluster_provider.go), the tracker (cluster_tracker.go), the links
// (cluster_links.go), the gate and agentGuard (cluster_gate.go), mutual
// TLS (cluster_tls.go) and nodes that join at run time and the protocol
// version (cluster_members.go); what goes between nodes is the clusterpb package
// (one .proto file). The other files are the single node, which runs none
// of it: New starts the cluster side only with Config.Cluster, and a room
// talks to a tracker only when it has one (nil on a single node).
//
// # Names, colours and hidden readers
//
// A room gives each joining reader a colour and an anonymous name made of the
// colour's word and an animal ("Teal Otter"), unique in the room: the
// colour least used by the readers it sees (its own and the replicas), a
// free name of it. In a cluster the animals are split between the nodes
// known at start (and their colours preferred among equals), so those never
// pick one name even at the same moment; a node that joined later may, and
// the room that sees a remote reader under one of its own readers' names
// renames the one with the greater id (room.resolve, room.rename: a welcome
// again for it, a join with the new name for the others and the tracker),
// without a leave (names.go).
// A hidden reader (join.hidden) is welcomed like any other but is left out of
// everyone else's joins, leaves, moves and crowd views, counts and bands, and
// is never reported to the tracker.
//
// A reader who comes back with a resume token (web/resume.go) joins with the
// name and colour it had (join.name, join.color): the room keeps them when
// the name is free. If its id is still in the room (the old socket not yet
// found dead), room.takeOver drops the old socket with readtag.TakenOver,
// spawns a new reader actor and welcomes the new socket in the same place:
// the others see nothing. The old conn's and reader's watches then fire for
// pids that are no longer the member's, and leave ignores them.
//
// # Message flow
//
//	join:   web handler ──Join──▶ conn ──join──▶ rooms ──join──▶ room
//	        room spawns reader/<id> with its seat; room ──watch(conn), watch(reader)──▶ monitor
//	        room publishes the seat to the session, ──Client.Welcome──▶ socket,
//	        then ──welcome(reader)──▶ new conn (which forwards any early scroll)
//	        at the room's next tick ──Client.Join──▶ every earlier reader's socket
//	        (the joins of a tick together, before its moves)
//	scroll: web handler ──Session.Scroll──▶ conn ──scroll──▶ reader ──▶ seat
//	        until the welcome; then (the room published the seat to the session
//	        first) Session.Scroll writes the seat itself: no actor message per
//	        scroll. A seat that changed is listed once in the room's movebox, and
//	        a box that was empty wakes the room ──movesDue──▶ room, which
//	        collects every listed seat's latest position (reader.go). Scrolls
//	        are numbered, so a seat drops one that a newer one overtook. While
//	        debug tracing covers reader or room actors (of the post), scrolls
//	        go Session.Scroll ──scroll──▶ reader ──▶ seat, so the trace shows
//	        each (issue 24: the seat took a tenth of a hot post's CPU off).
//	        The room keeps the latest position per reader; the first move
//	        after a quiet tick goes out at once, later ones at the next tick
//	        (Config.Tick, defaultTick)
//	tick:   room ──Client.Moves (one shared slice)──▶ every reader's socket
//	leave:  web handler ──Session.Leave──▶ conn stops ──ActorStoppedEvent──▶ monitor
//	        monitor ──readerGone──▶ room; room stops reader, ──Client.Leave──▶ every other socket
//	failed: reader panics → guard logs it and stops it → monitor ──readerGone──▶ room
//	        room ──Client.Drop──▶ its socket, which closes 1011; the browser reconnects
//	idle:   room empties ──roomIdle(joins seen)──▶ rooms; if no join is in flight,
//	        rooms stops the room (joins arriving meanwhile wait for its successor)
//	crowd:  from Config.CrowdThreshold readers (defaultCrowdThreshold) the room
//	        welcomes everyone again with only their Config.CrowdVisible
//	        (defaultCrowdVisible) nearest/latest movers, and then sends each
//	        socket one Client.Crowd per tick (view changes + density bands;
//	        a view is sticky: a reader shown stays until it is stickyMargin
//	        farther than the nearest ones, so a jittering crowd swaps no ghosts;
//	        new bands and total at most every bandsEvery) instead of joins,
//	        leaves and moves; back below three quarters of the threshold it
//	        welcomes everyone again with the whole room (crowd.go). A crowd of
//	        slowTickReaders or more ticks at twice Config.Tick. A crowd tick
//	        rolls: a room of twice turnReaders local readers or more takes up
//	        to crowdTurns turns a Config.Tick (one per turnReaders readers),
//	        each serving one slot of its readers, so each reader still gets at
//	        most one update a tick but a big room's frames are spread over the
//	        tick. A turn is held (for at most a tick) while more than
//	        turnBacklog of the node's socket writers wait for a processor
//	        (Presence.SetBacklog, room.held): backpressure, so a node short of
//	        CPU reads scrolls before it queues more frames; the next frame
//	        carries the latest of the view
//
// The room writes to its readers' sockets itself, through readtag.Client
// (a bounded queue per socket that never blocks), not by a message to each
// conn actor: a tick of a 5,000-reader post is then 5,000 calls on the
// room's goroutine instead of 5,000 actor messages, each waking a conn
// actor (a goroutine) only to make the same call. Every frame of a reader
// is queued by one goroutine, its room's, so they reach the socket in the
// room's order. With tracing on (rooms or conns), each of those calls is a
// "to socket" debug line naming the reader (trace.go). A move the room hands
// over carries the mover's live position (readtag.Move.Live, stored by the
// room on every move): the tick decides who is told, but the socket's writer,
// which may run a while later on a busy server, writes where the mover is
// then, not where it was at the tick.
//
// Between nodes (cluster mode), every room also reports its own readers to
// the node's tracker, and the tracker feeds it the other nodes' readers:
//
//	room ──localJoin / localMoves (at most every movesEvery, apart from its tick) / localLeave──▶ tracker
//	tracker ──Envelope{Deltas seq=n}──▶ the tracker of every peer with a room for the post (it sent
//	        Interest) ──remoteJoin / remoteMoves / remoteLeave──▶ its room; seq counts that peer's stream
//	        (so a move waits for one tick, the peer room's, not for its own room's too)
//	room (new) ──roomSubscribe──▶ tracker: a post it cared about already (a room, or one stopped within
//	        ClusterConfig.PeerTimeout) ──remoteSnapshot──▶ room at once (joins wait for it); a new post
//	        ──Envelope{Interest add}──▶ every peer ──Envelope{Snapshot partial, its readers of the post}──▶
//	        tracker ──remoteSnapshot──▶ room, once every peer answered or after a Heartbeat
//	room (stopped) ──roomUnsubscribe──▶ tracker; PeerTimeout later ──Envelope{Interest remove}──▶ every
//	        peer (its deltas of the post stop) and the replica of the post is dropped
//	tracker ──Envelope{Counts seq=n, posts whose count changed}──▶ every peer (at most every countsEvery)
//	tracker ──Envelope{Heartbeat seq}──▶ every peer's tracker (every ClusterConfig.Heartbeat)
//	provider ──Envelope{Heartbeat hears=<its incarnation>, addr}──▶ every peer's provider (every Heartbeat)
//	provider: a peer is up when heard within ClusterConfig.PeerTimeout and its last heartbeat hears us;
//	          a change of up/one-way/down ──▶ *cluster.Members ──▶ agent
//	agent ──MemberJoinEvent──▶ tracker ──SyncRequest{interest, posts: all it cares about}──▶ peer
//	        ──Snapshot (those posts) + Counts{full}──▶ tracker (replaces that node's readers and counts)
//	agent ──MemberLeaveEvent──▶ tracker: that node's readers leave every room
//	          a new incarnation, a new address, coming back up (after a burst of upBurst): each
//	          taken at most once per ClusterConfig.ChangeEvery (quicker ones held, counted in peer_changes_held)
//	stop:  provider ──Envelope{Goodbye}──▶ every peer's provider: down at once (from the incarnation it hears)
//	join (ClusterConfig.Join, PeersDNS; cluster_members.go):
//	       discovery goroutine ──dial seed/DNS address, id from its certificate──▶ discovered ──▶ provider: a new peer
//	       unknown node's Heartbeat (gate: its certificate names it) ──▶ provider.admit: a new peer
//	       provider ──Heartbeat{members: the peers it has up}──▶ every peer ──learnMembers──▶ new peers
//	       (hearsay until up: at most maxHearsay, dropped after ReadyAfter; all peers capped at MaxMembers)
//	       a joined peer silent for ForgetAfter (PeerTimeout after its Goodbye) ──forget──▶ link closed, dropped
//	every Envelope carries protocolVersion; the gate refuses a peer two or more versions apart
//	links: tracker, provider ──links.send (queue, never blocks)──▶ link/<peer> goroutine
//	       ──remote.Envelope on its own drpc stream──▶ peer's cluster remote ──▶ its actors
//	       link (re)connected ──linkUp──▶ provider, tracker: heartbeat that peer now
//	relay (cluster_relay.go; a's Heartbeat{relayed} or hears=0 says a does not hear b directly, or b hears nothing of a):
//	       b: links.send(a, …) ──also Envelope{Relay to=a, kind, envelope}──▶ c's provider (a third peer up;
//	          if b does not hear a directly, one whose Heartbeat{members} lists a)
//	       c's provider (the envelope is b's own; a up at c; b's relay budget) ──Envelope{Relay from=b, to=a}──▶
//	       a's provider: a Heartbeat taken as b's, a tracker message ──fromPeer──▶ a's tracker (seq dedups)
//
// A gap in a peer's seq, a heartbeat whose seq we have not seen, a new
// incarnation (the peer restarted), or a peer heard again after its tracker
// was silent for the failure timeout (the tracker then dropped its readers
// itself) makes the tracker ask for a snapshot instead of applying deltas.
// Every change a peer wants is numbered in its stream, reachable or not.
// Interest rides on that machinery (cluster_interest.go): every SyncRequest
// carries the whole set of posts the node cares about, so any fault that
// ends in a sync (a new incarnation, a gap, a peer heard again) re-announces
// it; an Interest add whose partial snapshot does not come within
// interestRetry heartbeats makes a full sync; deltas for a post we stopped
// caring about make the Interest remove go again. A peer older than interest
// sends no Counts: the tracker counts its readers for the index from the
// snapshot and deltas it sends anyway (cluster_oldcounts.go). A broken connection is not
// a departure: the link re-dials with back-off and the peer stays a member
// (with its readers) until it is silent for the failure timeout. A peer we
// hear but that does not hear us is one-way, not a member, and the link to
// it is dropped and re-dialled. Nothing of readtag's goes through
// Hollywood's remote router, which would dial a new address synchronously
// inside its actor and stall all remote traffic (cluster_links.go).
//
// A peer's provider keeps the incarnation it hears; another that
// heartbeats meanwhile is a rival, taken only once the first falls silent
// (a restart) and refused if both keep heartbeating (two processes under
// one id), with a Heartbeat whose refuses field makes the newcomer stop
// (Presence.Failed); the tracker takes messages only from the incarnation
// the provider took (cluster_duplicate.go). The provider and the tracker
// notice when they themselves were stalled (their own tick late) and then
// judge no peer worse for a grace, while they read what is queued
// (cluster_stall.go).
//
// A partition, one-way or symmetric, is carried by a third node
// (cluster_relay.go): a provider's heartbeat says whether it hears the
// receiver only through a relay (Heartbeat.relayed) and which peers it has
// up (Heartbeat.members); a node that is not heard directly by a peer, or
// hears nothing of it, has links.send also queue a copy of everything for
// that peer, wrapped in a Relay, for a third peer up at both (one that lists
// the peer up, if we do not hear the peer directly). That peer's
// provider checks the copy is the sender's own and carries it one hop,
// within relayMessages and relayBytes a second per origin; the
// destination's provider takes it as the origin's (a heartbeat itself, a
// tracker message handed to its tracker) while it does not hear the origin
// directly, and a new incarnation of it only once the one it knew is
// silent. The tracker's per-peer seq orders the relayed stream, and a
// Deltas or Counts it already applied (a copy) is dropped. Two nodes have
// no third: nothing is relayed.
//
// Every message from the network passes a gate first (cluster_gate.go, the
// Authorize hook of readtag's cluster remote, cluster_remote.go):
// only a clusterpb.Envelope, to this node's tracker or provider, from a peer
// in the configuration (any valid node id on a node that admits joiners),
// within one protocol version of ours, whose TLS certificate names the node the Envelope
// claims and whose sender PID belongs to it. Hollywood's own cluster messages
// never come in from outside, and the agent is wrapped (agentGuard) so that it
// takes a member list only from this node's provider. Between nodes the
// transport is mutual TLS (cluster_tls.go; certificates from `readtag certs`):
// the remote listens with it and the links dial with it. Its tls.Config
// takes ClusterCerts' set in use at each handshake, and ClusterCerts.Watch
// (cluster_tls_watch.go, run by cmd/readtag) replaces that set when the
// files change or on SIGHUP and logs each certificate's expiry, so new
// connections use new certificates while established ones carry on.
//
// Counts for the index (counts.go) are not an actor: rooms set their node's
// count of a post on every join and leave, and the tracker sets each peer's
// counts from its Counts messages (for every post, with a room here or not:
// a node gets the deltas of only the posts it has a room for), in one locked
// table that Presence.Counts reads:
//
//	room ──setLocal(post, n)──▶ counts ◀──setRemote(node, posts) / dropNode(node)── tracker
//	tracker (every countsEvery) ──localCounts──▶ counts: the changes go to every peer as Counts
//	web (on its own timer) ──Presence.Counts(since)──▶ counts: version, and a copy when it changed
//
// # Inbound peer traffic
//
// Peers' messages arrive through readtag's own actor.Remoter, clusterRemote
// (cluster_remote.go), which speaks Hollywood's wire protocol (a drpc Receive
// stream of remote.Envelope batches) on ClusterConfig.Addr, with
// ClusterConfig.TLS if set, in place of Hollywood's server. It checks every
// index of an envelope and drops, with a rate-limited log line
// (internal/ratelog, as every line a peer can trigger), any message
// it cannot resolve or decode or that the gate refuses; the rest of the
// envelope and the stream carry on. Its accept loop bounds what a stranger
// can cost: temporary accept errors back off, connections are capped at
// ClusterConfig.MaxConns (the oldest one still in its TLS handshake makes
// room), handshakes and connections silent for ClusterConfig.IdleTimeout
// time out (remoteConfig, config.go), and a panic closes only its own
// connection. Its Start only records the engine: Hollywood starts a remote
// before its own event stream is set up, so New makes it listen once
// readtag's actors exist. It sends nothing: outbound traffic goes through
// the links, and anything the engine hands it for another node is dropped
// and logged.
//
// A peer holds a valid certificate, yet may turn hostile (a stolen key, a
// buggy build), so what each one can cost is bounded (cluster_budget.go),
// keyed by the names in its certificate:
//
//   - its budget, ClusterConfig.Budget: messages and bytes a second, each a
//     token bucket of budgetBurst seconds (defaultBudgetMessages,
//     defaultBudgetBytes). Messages past it are dropped and counted; bytes
//     past it slow the reads of its connection (budgetConn), so TCP pushes
//     back. Still over budget BudgetConfig.Grace after it went over, the
//     peer is disconnected and its connections are refused, once its
//     handshake says who it is, for BudgetConfig.Cooldown;
//   - its inboxes: at most peerInbox of its messages wait for the tracker,
//     and as many for the provider (inboundConfig.Inbox: the remote wraps
//     them in fromPeer, which the actor hands back); more are dropped and
//     counted;
//   - its readers: at most ClusterConfig.MaxRemoteReaders here and
//     MaxPostReaders on one post (tracker.admits). Readers past the caps are
//     not created, a snapshot is truncated to them, and the peer is told
//     nothing;
//   - snapshots: the tracker takes one only when it asked for it, asks a
//     peer at most twice a heartbeat (askSync), and answers a peer's
//     requests with at most one snapshot a quarter heartbeat (mayAnswer);
//   - the rooms' remote input: the tracker queues at most roomInbox changes
//     for a room (the room's mailbox, counted down as it handles them);
//     past that it drops the post's changes, counts them, and once the room
//     has caught up sends it a snapshot of the post (remoteSnapshot, which
//     replaces the other nodes' readers). The monitor's only input a peer
//     can feed is the dead letters of those changes to a room that stopped,
//     so they are bounded by the same roomInbox.
//
// # Guards and wrappers
//
// Every actor is spawned through one helper (system.spawn / spawnUnder,
// spawn.go), which wraps its Receiver in guarded: the guard and, at debug
// level, the tracer, so no actor can be added untraced or unguarded. The
// guard recovers every panic: v1.0.5 kills the whole process once an actor
// exceeds MaxRestarts, and a restart would lose the actor's state anyway. A
// panicking room, reader or conn is logged at error and stopped cleanly (its
// Stopped handler runs and the monitor tells whoever depends on it). The
// monitor, the room registry and, in cluster mode, the tracker, the provider
// and the agent survive a panic: the message is dropped and the actor
// carries on, since everything else depends on them.
//
// Two more wrappers sit around Hollywood's own parts in cluster mode:
// agentGuard (guardAgent, cluster_gate.go), inside the agent's guarded,
// keeps every member list but the provider's and every activation message
// from the agent; clusterRemote (cluster_remote.go) holds inbound traffic back
// until our actors exist (see Inbound peer traffic).
//
// Nothing a client does can grow an actor's inbox without bound: a room hands
// everything for a socket to a Client that never blocks (web's outbox, which
// coalesces moves and closes clients that fall too far behind). Nor can a
// peer: see the bounds under Inbound peer traffic. Actors are
// spawned with an inbox of inboxSize slots, which doubles when it must. An
// idle actor has no goroutine (Hollywood starts one only while its inbox
// has messages) and costs about 1 KB of memory, against about 28 KB with
// Hollywood's default inbox; an idle connected reader holds two, its conn
// and its reader. That is the heap and stacks in use after a GC, per actor,
// with idleActors reader actors spawned (BenchmarkIdleActor):
//
//	go test -run x -bench IdleActor -benchtime 1x ./actors
//
// # Tracing
//
// With the logger at debug level, every message every actor receives is one
// log line "actor message" with to, from, type, kind, reader, post and a short
// summary of the payload. Config.Trace narrows it to some kinds or one post.
// With the logger above debug the tracer is not installed at all.
package actors
