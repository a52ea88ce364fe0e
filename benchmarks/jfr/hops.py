#!/usr/bin/env python3
"""Where Brook's microseconds go, hop by hop, from a JFR recording of one benchmark run (issue 21).

  java -Dbrook.bench.marks=true -XX:StartFlightRecording=filename=r.jfr,settings=benchmarks/jfr/brook.jfc \
      -cp ... dev.brook.bench.EndToEnd redis://127.0.0.1:PORT pubsub 800000 100 1 > r.out
  python3 benchmarks/jfr/hops.py r.jfr r.out 800000 [-v]

Cuts the recording to the last measured run (the MARK lines Harness prints with
-Dbrook.bench.marks=true), sorts every execution sample into the hop of its innermost
recognised frame, and every allocation sample's weight likewise (bytes per message). The
thread roles (producer, consumer I/O, worker) come from the thread names; the consumer's I/O
thread is the one that ran PubSubHub.message (or a List/Stream consumer).
"""
import collections, os, re, subprocess, sys, tempfile

# parse jfr print text of ExecutionSample/NativeMethodSample; yield (time, thread, frames[top..bottom])
def parse(path):
    cur=None; frames=None
    for line in open(path):
        s=line.strip()
        if s.startswith('jdk.ExecutionSample') or s.startswith('jdk.NativeMethodSample'):
            cur={'kind':s.split()[0]}; frames=[]
        elif s.startswith('startTime'):
            m=re.search(r'(\d+):(\d+):(\d+)\.(\d+)',s); cur['t']=int(m[1])*3600+int(m[2])*60+int(m[3])+int(m[4])/1000
        elif s.startswith('sampledThread'):
            cur['thread']=s.split('"')[1]; cur['virtual']='virtual' in s
        elif s.startswith('stackTrace'):
            pass
        elif s==']':
            pass
        elif s=='}':
            if cur is not None:
                cur['frames']=frames; yield cur
            cur=None
        elif cur is not None and frames is not None and not s.startswith(('state','stackTrace')) and '(' in s:
            frames.append(re.sub(r' line: \d+','',s))

HOPS=[
 ('producer: envelope + codec encode', ['dev.brook.redis.internal.Envelope.encode','dev.brook.internal.Codec.encode','Ids.uuid']),
 ('producer: Lettuce command timeout (TimeoutOptions)', ['CommandExpiryWriter','HashedWheelTimer','TimeoutOptions']),
 ('producer: Brook publish path (Publishing, futures)', ['dev.brook.internal.Publishing','RedisProducer','ChannelKind.send','UserFuture','RedisTransport.send','StreamKind.send','ListKind.send','RedisProducer.sendBatch']),
 ('producer: Lettuce command build + write', ['RedisCommandBuilder','AbstractRedisAsyncCommands','DefaultEndpoint.write','CommandHandler.write','CommandEncoder','CommandArgs','Command.encode','FlushConsolidation']),
 ('consumer: hub dispatch (PubSubHub.message)', ['PubSubHub.message']),
 ('consumer: mailbox offer + worker start', ['Mailbox.offer','Mailbox.maybeStartWorker','Mailbox.offerAll']),
 ('Lettuce decode (RESP, PubSub output)', ['RedisStateMachine','PubSubCommandHandler','CommandHandler.decode','PubSubEndpoint','CommandHandler.channelRead']),
 ('worker: envelope decode', ['dev.brook.redis.internal.Envelope.decode','dev.brook.internal.Codec.decode','PubSubInbound.frame','StreamInbound.frame','ListInbound.frame']),
 ('List/Stream: Brook consume loop (read, scripts, settle, bookkeeping)', ['dev.brook.redis.internal.stream.','dev.brook.redis.internal.list.','dev.brook.redis.internal.ConsumeLoop','dev.brook.redis.internal.Settler','dev.brook.redis.internal.Script','dev.brook.redis.internal.Delayed']),
 ('worker: handler', ['EndToEnd.lambda$pubsub$0','EndToEnd.lambda$latency','EndToEnd$Counter','EndToEnd.lambda$batch$','EndToEnd.lambda$pingPong$0','EndToEnd.lambda$pingPong$1']),
 ('worker: Brook consume pipeline (dispatch, context, settle)', ['ConsumePipeline','DefaultMessageContext','HandlerMethods','DefaultSubscription','ConsumeLinks','BrokerEngine']),
 ('worker: mailbox take / worker lifecycle', ['Mailbox.work','Mailbox.take']),
 ('virtual thread scheduling (ForkJoinPool, start/park/unpark)', ['ForkJoinPool','VirtualThread','Continuation']),
 ('socket read/write (epoll, syscalls)', ['epollWait','Native.epoll','FileDescriptor.read','FileDescriptor.write','writeAddress','readAddress','AbstractEpollStreamChannel','EpollEventLoop.processReady','doWriteBytes','writev']),
 ('Netty event loop tasks/flush', ['SingleThreadEventExecutor','AbstractChannelHandlerContext','DefaultChannelPipeline','ChannelOutboundBuffer']),
 ('producer: benchmark loop (join, window)', ['EndToEnd.lambda$pubsub','Harness.measure']),
]
def classify(frames):
    for f in frames:  # top (innermost) first
        for cat,keys in HOPS:
            for k in keys:
                if k in f: return cat
    return 'other: '+(frames[0].split('(')[0] if frames else '?')

def jfr_print(recording, event):
    jfr = os.path.join(os.environ.get('JAVA_HOME', '/usr/lib/jvm/temurin-25-jdk-amd64'), 'bin', 'jfr')
    text = subprocess.run([jfr, 'print', '--events', event, '--stack-depth', '64', recording],
                          check=True, capture_output=True, text=True).stdout
    path = os.path.join(tempfile.mkdtemp(), event + ".txt")
    with open(path, 'w') as f:
        f.write(text)
    return path

def parse_alloc(path):
    cur=None
    for line in open(path):
        s=line.strip()
        if s.startswith('jdk.ObjectAllocationSample'): cur={'frames':[]}
        elif cur is None: continue
        elif s.startswith('startTime'):
            m=re.search(r'(\d+):(\d+):(\d+)\.(\d+)',s); cur['t']=int(m[1])*3600+int(m[2])*60+int(m[3])+int(m[4])/1000
        elif s.startswith('objectClass'): cur['cls']=s.split('=')[1].split('(')[0].strip()
        elif s.startswith('weight'):
            v,u=s.split('=')[1].split(); mult={'bytes':1,'byte':1,'kB':1024,'MB':1<<20,'GB':1<<30}[u]; cur['w']=float(v.replace(',',''))*mult
        elif s.startswith('eventThread'): cur['thread']=s.split('"')[1]
        elif s=='}': 
            yield cur; cur=None
        elif '(' in s and not s.startswith(('stackTrace','objectClass','eventThread')): cur['frames'].append(re.sub(r' line: \d+','',s))

recording, out_file, n_msgs = sys.argv[1], sys.argv[2], int(sys.argv[3])
marks=[l.split()[2] for l in open(out_file) if l.startswith('MARK')]
def secs(t):
    h,m,s=t.split(':'); return int(h)*3600+int(m)*60+float(s)
t0,t1=secs(marks[-2]),secs(marks[-1])
samples_file = jfr_print(recording, 'jdk.ExecutionSample')
kinds=collections.Counter(); cats=collections.Counter(); n=0; other=collections.Counter()
S=[s for s in parse(samples_file) if t0<=s['t']<=t1 and s['kind']=='jdk.ExecutionSample']
consumer_loops={s['thread'] for s in S if any('PubSubHub.message' in f or 'ListConsumer' in f or 'StreamConsumer' in f for f in s['frames'])}
def role(s):
    t=s['thread']
    if s['virtual']: return 'consumer worker (virtual)'
    if t in consumer_loops: return 'consumer I/O thread'
    if 'EventLoop' in t: return 'producer I/O thread'
    if t=='main': return 'producer thread (main)'
    return 'other threads ('+re.sub(r'-?\d+','',t)+')'
roles=collections.Counter(); rc=collections.Counter()
for s in S:
    if not (t0<=s['t']<=t1): continue
    if s['kind']!='jdk.ExecutionSample': 
        kinds[s['kind']]+=1; continue
    c=classify(s['frames']); cats[c]+=1; n+=1; r=role(s); roles[r]+=1; rc[(r,c)]+=1
    if c.startswith('other'): other[' <- '.join(x.split('(')[0] for x in s['frames'][:4])]+=1
print('window %.2fs, %d execution samples'%(t1-t0,n))
for c,v in cats.most_common(): 
    if not c.startswith('other'): print('%5.1f%%  %s'%(100*v/n,c))
print('%5.1f%%  other'%(100*sum(v for c,v in cats.items() if c.startswith('other'))/n))
print()
for r,v in roles.most_common():
    print('%5.1f%%  %s'%(100*v/n,r))
    for (r2,c),v2 in rc.most_common():
        if r2==r and 100*v2/n>=0.5: print('        %5.1f%%  %s'%(100*v2/n,c))
if '-v' in sys.argv:
  for k,v in other.most_common(25): print(v,k)
print()

alloc_file = jfr_print(recording, 'jdk.ObjectAllocationSample')
tot=0; cats=collections.Counter(); cls=collections.Counter()
for a in parse_alloc(alloc_file):
    if not (t0<=a['t']<=t1): continue
    c=classify(a['frames']); cats[c]+=a['w']; tot+=a['w']; cls[(c,a['cls'])]+=a['w']
print('allocation in window: %.0f B/msg'%(tot/n_msgs))
for c,v in cats.most_common(): print('%7.0f B/msg  %s'%(v/n_msgs,c))
if '-v' in sys.argv:
  for (c,k),v in cls.most_common(25): print('   %6.0f %s | %s'%(v/n_msgs,c,k))
